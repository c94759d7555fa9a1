package redismq_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/redismq"
	"github.com/groundwork-go/groundwork/resilience"
)

// flakyDLQ refuses the first two publishes to the dead-letter topic.
type flakyDLQ struct {
	driver.Conn
	tries atomic.Int32
}

func (c *flakyDLQ) Publish(ctx context.Context, msgs []driver.Message) error {
	if msgs[0].Topic == "t.dlq" && c.tries.Add(1) <= 2 {
		return errors.New("dlq refused (transient, but past the retry policy)")
	}
	return c.Conn.Publish(ctx, msgs)
}

// TestDeadLetterFailureRedelivered: a dead-letter publish that fails past
// the retry policy has mq hand the message back; the member that keeps the
// partition claims it again and dead-letters it once the topic accepts.
// (Its reader had moved on to new entries and never looked back: the
// message stayed pending, neither redelivered nor dead-lettered.)
func TestDeadLetterFailureRedelivered(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	conn, err := redismq.New(rdb, &redismq.Options{Partitions: 1, VisibilityTimeout: 3 * time.Second,
		HeartbeatInterval: 100 * time.Millisecond, Block: 100 * time.Millisecond, AckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fc := &flakyDLQ{Conn: conn}
	c, err := mq.NewClient(fc, mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var dlq, runs atomic.Int32
	w, err := c.Subscribe(context.Background(), "t.dlq", "ops", func(context.Context, *mq.Message) error { dlq.Add(1); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sub, err := c.Subscribe(context.Background(), "t", "g", func(context.Context, *mq.Message) error {
		runs.Add(1)
		return errors.New("no")
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c.Publish(context.Background(), &mq.Message{Topic: "t", Key: "k", Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message on the dead-letter topic after its publish failed", func() bool { return dlq.Load() == 1 })
	if n := runs.Load(); n != 1 {
		t.Errorf("the handler ran %d times; the redelivery was to retry the dead-lettering only", n)
	}
}
