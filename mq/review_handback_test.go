package mq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

// TestHandBackAtShutdownIsNotAnAttempt: a handler that gives its message
// back because the subscription is shutting down (logship's Indexer does,
// when the store is down) has not failed: the message is handed over to
// the next member uncounted — not dead-lettered on its last attempt, and
// not one attempt older.
func TestHandBackAtShutdownIsNotAnAttempt(t *testing.T) {
	swept := make(chan struct{})
	mq.SetTestHookSwept(func() { close(swept) })
	t.Cleanup(func() { mq.SetTestHookSwept(nil) })
	c, err := mq.Open(context.Background(), "mem://handback", quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dead := deadLetters(t, c, "jobs", 1)
	started, release := make(chan struct{}), make(chan struct{})
	first, err := c.Subscribe(context.Background(), "jobs", "g", func(ctx context.Context, m *mq.Message) error {
		close(started)
		<-release // waiting for a store that is down, until shutdown
		return errors.New("shutting down: handed back for redelivery")
	}, mq.WithMaxAttempts(1), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: "jobs", ID: "j1"}); err != nil {
		t.Fatal(err)
	}
	<-started
	done := make(chan error, 1)
	go func() { done <- first.Shutdown(context.Background()) }()
	<-swept // the subscription is stopping: what the handler returns now is a hand-back
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mq.SetTestHookSwept(nil)
	got := make(chan *mq.Message, 1)
	second, err := c.Subscribe(context.Background(), "jobs", "g", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	}, mq.WithMaxAttempts(1), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	select {
	case m := <-got:
		if m.ID != "j1" || m.Attempt != 1 {
			t.Fatalf("redelivered %q at attempt %d, want j1 at attempt 1 (a hand-back is no attempt)", m.ID, m.Attempt)
		}
	case m := <-dead:
		t.Fatalf("%q dead-lettered (%s) after being handed back at shutdown", m.ID, m.Headers[mq.HeaderDLQError])
	case <-time.After(time.Minute):
		t.Fatal("never redelivered")
	}
}
