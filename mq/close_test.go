package mq_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// barrierConn hands out receivers whose Close returns only once every one
// of them is closing: closed one after another, the first would wait for
// the others for ever (here: until the barrier's patience runs out, when
// it reports that it was alone).
type barrierConn struct {
	n        int
	mu       sync.Mutex
	closing  int
	all      chan struct{}
	patience time.Duration
}

func newBarrierConn(n int) *barrierConn {
	return &barrierConn{n: n, all: make(chan struct{}), patience: time.Minute}
}

func (c *barrierConn) Publish(context.Context, []driver.Message) error { return nil }
func (c *barrierConn) Subscribe(_ context.Context, topic, _ string) (driver.Receiver, error) {
	return &barrierReceiver{c: c, topic: topic}, nil
}
func (c *barrierConn) IsRetryable(error) bool { return false }
func (c *barrierConn) As(any) bool            { return false }
func (c *barrierConn) Close() error           { return nil }

type barrierReceiver struct {
	c     *barrierConn
	topic string
}

func (r *barrierReceiver) Receive(ctx context.Context, _ int) ([]*driver.Delivery, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (r *barrierReceiver) Ack(context.Context, *driver.Delivery) error  { return nil }
func (r *barrierReceiver) Nack(context.Context, *driver.Delivery) error { return nil }

// Close waits until every receiver is closing, then fails with an error
// naming its topic, so that the test sees every error joined.
func (r *barrierReceiver) Close() error {
	r.c.mu.Lock()
	r.c.closing++
	if r.c.closing == r.c.n {
		close(r.c.all)
	}
	r.c.mu.Unlock()
	t := time.NewTimer(r.c.patience)
	defer t.Stop()
	select {
	case <-r.c.all:
		return fmt.Errorf("leave %s failed", r.topic)
	case <-t.C:
		return fmt.Errorf("receiver of %s closed alone: subscriptions closed one after another", r.topic)
	}
}

// TestClientCloseClosesSubscriptionsInParallel: Client.Close closes its
// subscriptions all at once (each receiver's Close waits for the others
// to have started), returns every one's error joined, and is idempotent.
func TestClientCloseClosesSubscriptionsInParallel(t *testing.T) {
	const n = 3
	conn := newBarrierConn(n)
	c, err := mq.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := c.Subscribe(context.Background(), fmt.Sprintf("t%d", i), "g", func(context.Context, *mq.Message) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	err = c.Close()
	for i := range n {
		// Each on its own line, named by the call: "mq: leave group "g"
		// of "t0" via ...: leave t0 failed".
		want := fmt.Sprintf(`mq: leave group "g" of "t%d" via %T: leave t%d failed`, i, conn, i)
		if err == nil || !slices.Contains(strings.Split(err.Error(), "\n"), want) {
			t.Errorf("Close: %v; want it to hold %q", err, want)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: "t0"}); !errors.Is(err, mq.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
}
