package rocketmq

import (
	"context"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestHandOverKeepsLockWhileBatchInHand: a queue given up while mq still
// handles a batch of it stays locked by this member, however long that
// batch takes: the client no longer renews the lock of a queue it
// dropped, and without the hand-over renewing it the lock would lapse
// and the next owner would start on the queue alongside the batch still
// in hand. Here the broker's locks last 3 s and A renews every 100 ms (a
// stall of nearly 3 s on a loaded machine is still no lapse); B tries to
// lock the queue for two lock lifetimes while A's batch is in hand, and
// gets it only once the batch is settled.
func TestHandOverKeepsLockWhileBatchInHand(t *testing.T) {
	const expiry = 3 * time.Second
	srv := testserver.StartRocketMQ(t, testserver.RocketMQLockExpiry(expiry))
	ctx := context.Background()
	const topic, group = "ho-renew", "ho-renew-group"
	r, qs := newUnitReceiver(t, srv, topic)
	r.lockRenew = 100 * time.Millisecond
	r.allocate(group, "A", qs, []string{"A"})
	if h := srv.LockHolder(group, topic, 1); h != "A" {
		t.Fatalf("queue 1 locked by %q, want A", h)
	}
	octx := primitive.NewConsumeOrderlyContext()
	octx.MQ = *qs[1]
	res := make(chan consumer.ConsumeResult, 1)
	go func() {
		out, _ := r.consume(primitive.WithOrderlyCtx(ctx, octx), &primitive.MessageExt{QueueOffset: 0})
		res <- out
	}()
	ds, err := r.Receive(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	// B joins and gets queue 1 while A's batch of it is in hand.
	r.allocate(group, "A", qs, []string{"A", "B"})
	lockAsB := func() bool {
		got, err := lockQueues(ctx, srv.BrokerAddr(), group, "B", []primitive.MessageQueue{*qs[1]}, primitive.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		return len(got) == 1
	}
	for end := time.Now().Add(2 * expiry); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if lockAsB() {
			t.Fatal("B locked queue 1 while A still handles its batch: A's lock lapsed")
		}
	}
	_ = r.Ack(ctx, ds[0])
	if out := <-res; out != consumer.ConsumeSuccess {
		t.Fatalf("batch: %v", out)
	}
	r.handing.Wait()
	if !lockAsB() {
		t.Error("B cannot lock queue 1 after A's hand-over")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
