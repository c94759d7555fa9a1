package mq_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// cancellingConn is a memmq connection to a broker that cannot be
// reached, whose every call first cancels the caller's context: the
// caller gives up while the client waits to try again.
type cancellingConn struct {
	driver.Conn
	cancel context.CancelFunc
}

var errRefused = fmt.Errorf("%w: dial tcp 10.0.0.7:9092: connect: connection refused", driver.ErrUnreachable)

func (c *cancellingConn) Publish(context.Context, []driver.Message) error {
	c.cancel()
	return errRefused
}

func (c *cancellingConn) Subscribe(context.Context, string, string) (driver.Receiver, error) {
	c.cancel()
	return nil, errRefused
}

// TestCallerCancelDuringRetryIsCanceled: a caller that cancels its
// context while Publish or Subscribe waits to retry an unreachable broker
// gets an error matching context.Canceled (its own doing), still saying
// what the broker did, with the package and the call named once.
func TestCallerCancelDuringRetryIsCanceled(t *testing.T) {
	conn := &cancellingConn{Conn: memmq.New(memmq.NewBroker(nil))}
	c, err := mq.NewClient(conn, quiet, mq.WithRetry(resilience.RetryPolicy{MaxAttempts: 10}),
		mq.WithBreaker(resilience.BreakerPolicy{Disabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	calls := map[string]func(context.Context) error{
		"Publish": func(ctx context.Context) error { return c.Publish(ctx, &mq.Message{Topic: "t"}) },
		"Subscribe": func(ctx context.Context) error {
			_, err := c.Subscribe(ctx, "t", "g", func(context.Context, *mq.Message) error { return nil })
			return err
		},
	}
	for name, call := range calls {
		ctx, cancel := context.WithCancel(context.Background())
		conn.cancel = cancel
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.Canceled) || !errors.Is(err, mq.ErrUnreachable) {
			t.Errorf("%s cancelled while waiting to retry: %v; want context.Canceled, and ErrUnreachable for what the broker did", name, err)
		}
		checkOnePrefix(t, name, err)
	}
}
