package mq

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// feedConn delivers an endless stream of messages on 64 keys, in batches
// allocated the way providers allocate them, and counts acks: it isolates
// the cost of the portable layer's consuming side.
type feedConn struct {
	noopConn
	acked atomic.Int64
}

func (c *feedConn) Subscribe(context.Context, string, string) (driver.Receiver, error) {
	return &feedReceiver{c: c}, nil
}

type feedReceiver struct {
	c    *feedConn
	next int
}

var feedKeys = func() (k [64]string) {
	for i := range k {
		k[i] = "key-" + strconv.Itoa(i)
	}
	return k
}()

func (r *feedReceiver) Receive(ctx context.Context, max int) ([]*driver.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := min(max, 100)
	ds := make([]driver.Delivery, n)
	out := make([]*driver.Delivery, n)
	for i := range ds {
		ds[i] = driver.Delivery{Message: driver.Message{ID: "id", Topic: "t", Key: feedKeys[r.next%64]}, Attempt: 1}
		r.next++
		out[i] = &ds[i]
	}
	return out, nil
}

func (r *feedReceiver) Ack(context.Context, *driver.Delivery) error  { r.c.acked.Add(1); return nil }
func (r *feedReceiver) Nack(context.Context, *driver.Delivery) error { return nil }
func (r *feedReceiver) Close() error                                 { return nil }

// BenchmarkConsumeFeed: one op is one message received, handled by a no-op
// handler (concurrency 8, per-key order) and acknowledged.
func BenchmarkConsumeFeed(b *testing.B) {
	conn := &feedConn{}
	c, err := NewClient(conn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	sub, err := c.Subscribe(context.Background(), "t", "g", func(context.Context, *Message) error {
		if handled.Add(1) == n {
			close(done)
		}
		return nil
	}, WithConcurrency(8), WithPrefetch(2000))
	if err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	sub.Close()
}
