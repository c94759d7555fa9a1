package mq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestHandlerMayKeepMessage: the handler gets the received message itself
// (no copy), yet a message it kept from one attempt is not changed by the
// next attempt, and an Attempt set on a published message does not reach
// the handler.
func TestHandlerMayKeepMessage(t *testing.T) {
	ctx := context.Background()
	c, err := mq.Open(ctx, "mem://keep-message")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type seen struct {
		m       *mq.Message
		attempt int
	}
	got := make(chan seen, 2)
	sub, err := c.Subscribe(ctx, "t", "g", func(_ context.Context, m *mq.Message) error {
		got <- seen{m, m.Attempt}
		if m.Attempt == 1 {
			return errors.New("fail the first attempt")
		}
		return nil
	}, mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c.Publish(ctx, &mq.Message{Topic: "t", Key: "k", Payload: []byte("p"), Attempt: 7}); err != nil {
		t.Fatal(err)
	}
	var first, second seen
	for i, s := range []*seen{&first, &second} {
		select {
		case *s = <-got:
		case <-time.After(time.Minute):
			t.Fatalf("attempt %d never ran", i+1)
		}
	}
	if first.attempt != 1 || second.attempt != 2 {
		t.Fatalf("attempts seen %d, %d; want 1, 2 (a published Attempt is ignored)", first.attempt, second.attempt)
	}
	if first.m == second.m {
		t.Fatal("the second attempt got the message the first one's handler may have kept")
	}
	if first.m.Attempt != 1 || string(first.m.Payload) != "p" {
		t.Fatalf("kept message changed by the next attempt: Attempt %d, Payload %q", first.m.Attempt, first.m.Payload)
	}
}
