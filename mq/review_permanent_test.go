package mq_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// refuseOnceConn is a memmq connection whose first publish to one topic
// fails.
type refuseOnceConn struct {
	driver.Conn
	topic   string
	refused atomic.Bool
}

func (c *refuseOnceConn) Publish(ctx context.Context, msgs []driver.Message) error {
	if msgs[0].Topic == c.topic && !c.refused.Swap(true) {
		return fmt.Errorf("refused: %w", driver.ErrUnreachable)
	}
	return c.Conn.Publish(ctx, msgs)
}

// TestPermanentRedeliveryAfterFailedDeadLetter: a message its handler
// marked Permanent, whose dead-letter publish failed, is handed back; its
// next delivery goes straight to the dead-letter topic, without running
// the handler again (memmq counts attempts across deliveries, as redismq
// does): Permanent means no further attempt.
func TestPermanentRedeliveryAfterFailedDeadLetter(t *testing.T) {
	conn := &refuseOnceConn{Conn: memmq.New(memmq.NewBroker(nil)), topic: "orders.dlq"}
	c, err := mq.NewClient(conn, quiet, mq.WithRetry(resilience.RetryPolicy{MaxAttempts: 1}),
		mq.WithBreaker(resilience.BreakerPolicy{Disabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dead := deadLetters(t, c, "orders", 1)
	var runs atomic.Int32
	sub, err := c.Subscribe(context.Background(), "orders", "g", func(context.Context, *mq.Message) error {
		runs.Add(1)
		return mq.Permanent(errors.New("no such product"))
	}, mq.WithMaxAttempts(5), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c.Publish(context.Background(), &mq.Message{Topic: "orders", Key: "k", ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-dead:
		if m.ID != "p1" {
			t.Fatalf("dead-lettered %q, want p1", m.ID)
		}
	case <-time.After(time.Minute):
		t.Fatal("never dead-lettered")
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the handler ran %d times on a message it marked Permanent, want 1", n)
	}
}
