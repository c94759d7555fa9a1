package rocketmq

import (
	"context"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestHandOverAfterSettle drives the receiver's hand-over without the
// client, so that its concurrency (allocate, consume, the hand-over
// goroutine, Close) is race-checked: a queue given up while a batch of it
// is in mq's hands takes no new batch, its offset is committed past that
// batch once it is acknowledged, and a queue kept is left alone. (That
// the hand-over waits for the batch is proved against the client by
// TestHandOverWaitsForInFlight.)
func TestHandOverAfterSettle(t *testing.T) {
	srv := testserver.StartRocketMQ(t)
	ctx := context.Background()
	const topic, group = "ho-unit", "ho-group"
	r, qs := newUnitReceiver(t, srv, topic)
	if got := r.allocate(group, "A", qs, []string{"A"}); len(got) != 2 {
		t.Fatalf("alone, A got %d queues, want 2", len(got))
	}
	// A batch of queue 1 (offsets 5..7) in mq's hands.
	batchOf := func(q *primitive.MessageQueue, from int64, n int) (context.Context, []*primitive.MessageExt) {
		octx := primitive.NewConsumeOrderlyContext()
		octx.MQ = *q
		var ms []*primitive.MessageExt
		for i := range n {
			ms = append(ms, &primitive.MessageExt{QueueOffset: from + int64(i)})
		}
		return primitive.WithOrderlyCtx(ctx, octx), ms
	}
	res := make(chan consumer.ConsumeResult, 1)
	go func() {
		cctx, ms := batchOf(qs[1], 5, 3)
		out, _ := r.consume(cctx, ms...)
		res <- out
	}()
	ds, err := r.Receive(ctx, 10)
	if err != nil || len(ds) != 3 {
		t.Fatalf("Receive = %d, %v", len(ds), err)
	}
	// B joins: A keeps queue 0 and gives queue 1 up.
	if got := r.allocate(group, "A", qs, []string{"A", "B"}); len(got) != 1 || *got[0] != *qs[0] {
		t.Fatalf("with B, A got %v, want queue 0", got)
	}
	cctx, ms := batchOf(qs[1], 8, 1)
	if out, _ := r.consume(cctx, ms...); out != consumer.SuspendCurrentQueueAMoment {
		t.Fatalf("a new batch of a queue given up: %v, want it put back", out)
	}
	for _, d := range ds[:2] {
		_ = r.Ack(ctx, d)
	}
	if _, ok := srv.CommittedOffset(group, topic, 1); ok {
		t.Fatal("offset committed before the batch in hand was settled")
	}
	_ = r.Ack(ctx, ds[2])
	if out := <-res; out != consumer.ConsumeSuccess {
		t.Fatalf("the batch in hand: %v, want ConsumeSuccess", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if off, ok := srv.CommittedOffset(group, topic, 1); ok {
			if off != 8 {
				t.Fatalf("committed offset %d, want 8 (past the batch)", off)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hand-over never committed the queue's offset")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := srv.CommittedOffset(group, topic, 0); ok {
		t.Error("the queue kept was committed too")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
