package rocketmq

import (
	"context"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestHandOverForgetsEarlierOwnership: the offset a hand-over commits is
// the one this member acknowledged while it last owned the queue, never
// one from an earlier ownership. A queue A handed over (acknowledged up
// to 5), that another member then consumed to 20, and that came back to
// A and left again before A consumed any of it, must not be committed
// back to 5: the next owner would deliver 5..19, acknowledged by the
// other member, again.
func TestHandOverForgetsEarlierOwnership(t *testing.T) {
	srv := testserver.StartRocketMQ(t)
	ctx := context.Background()
	const topic, group = "ho-stale", "ho-stale-group"
	r, qs := newUnitReceiver(t, srv, topic)
	alone, withB := []string{"A"}, []string{"A", "B"}
	r.allocate(group, "A", qs, alone)

	// A consumes queue 1's offsets 0..4 and acknowledges them.
	octx := primitive.NewConsumeOrderlyContext()
	octx.MQ = *qs[1]
	var ms []*primitive.MessageExt
	for i := range 5 {
		ms = append(ms, &primitive.MessageExt{QueueOffset: int64(i)})
	}
	res := make(chan consumer.ConsumeResult, 1)
	go func() {
		out, _ := r.consume(primitive.WithOrderlyCtx(ctx, octx), ms...)
		res <- out
	}()
	ds, err := r.Receive(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		_ = r.Ack(ctx, d)
	}
	if out := <-res; out != consumer.ConsumeSuccess {
		t.Fatalf("batch: %v, want ConsumeSuccess", out)
	}

	// B joins and gets queue 1: A commits 5 and unlocks it.
	r.allocate(group, "A", qs, withB)
	r.handing.Wait()
	if off, _ := srv.CommittedOffset(group, topic, 1); off != 5 {
		t.Fatalf("first hand-over committed %d, want 5", off)
	}
	// B consumes queue 1 up to 20 and commits that.
	if err := commitOffset(ctx, srv.BrokerAddr(), group, *qs[1], 20, primitive.Credentials{}); err != nil {
		t.Fatal(err)
	}
	// B leaves (A gets queue 1 back), and comes back (A gives it up
	// again) before A consumed anything of it.
	r.allocate(group, "A", qs, alone)
	r.allocate(group, "A", qs, withB)
	r.handing.Wait()
	if off, _ := srv.CommittedOffset(group, topic, 1); off != 20 {
		t.Errorf("committed offset of queue 1 is %d after the second hand-over, want 20 (B's): "+
			"the hand-over committed an offset of A's earlier ownership", off)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
