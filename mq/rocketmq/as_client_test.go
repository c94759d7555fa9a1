//go:build !race

// Drives the client's push consumer: not under -race (see rocketmq_test.go).

package rocketmq_test

import (
	"context"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestSubscriptionAs: a subscription hands out its member's push consumer
// (the client's PushConsumer interface), which reports on the
// subscription's topic while the subscription consumes; other types are
// false, and so is every type once Close has begun.
func TestSubscriptionAs(t *testing.T) {
	srv := testserver.StartRocketMQ(t, testserver.RocketMQLockExpiry(lockExpiry))
	ctx := context.Background()
	c, err := mq.Open(ctx, "rocketmq://"+srv.NameServer()+"?"+testParams)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 1)
	sub, err := c.Subscribe(ctx, "as-topic", "as-group", func(_ context.Context, m *mq.Message) error {
		got <- string(m.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var pc rmq.PushConsumer
	if !sub.As(&pc) || pc == nil {
		t.Fatal("Subscription.As(*rocketmq.PushConsumer) = false, want the member's push consumer")
	}
	var prod rmq.Producer
	if sub.As(&prod) || prod != nil {
		t.Error("Subscription.As(*rocketmq.Producer) = true, want false (Client.As has it)")
	}
	if err := c.Publish(ctx, &mq.Message{Topic: "as-topic", Payload: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "hello" {
			t.Errorf("handled %q, want hello", p)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("gave up waiting for the message")
	}
	// The consumer handed out is the member's: it holds the topic's
	// queues and reports their lag, none once the message is committed.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lag, ok := pc.GetOffsetDiffMap()["as-topic"]
		if ok && lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("push consumer's lag on as-topic: %v (%v), want 0 within 2m", lag, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	pc = nil
	if sub.As(&pc) || pc != nil {
		t.Error("Subscription.As after Close = true, want false: the push consumer is shut down")
	}
}
