package mq_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
)

// TestHandlerErrorMarks: errors.Is and errors.As see the handler's error
// through Permanent and RetryAfter, whose text is that error's; a nil
// error stays nil.
func TestHandlerErrorMarks(t *testing.T) {
	inner := &fs.PathError{Op: "open", Path: "sku.json", Err: fs.ErrNotExist}
	for name, err := range map[string]error{
		"Permanent":         mq.Permanent(inner),
		"RetryAfter":        mq.RetryAfter(inner, time.Second),
		"wrapped Permanent": fmt.Errorf("load: %w", mq.Permanent(inner)),
		"both":              mq.RetryAfter(mq.Permanent(inner), time.Second),
	} {
		var pe *fs.PathError
		if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe != inner {
			t.Errorf("%s: errors.Is/As do not see the handler's error through %v", name, err)
		}
		if want := inner.Error(); err.Error() != want && err.Error() != "load: "+want {
			t.Errorf("%s: text %q, want the handler's %q", name, err, want)
		}
	}
	if mq.Permanent(nil) != nil || mq.RetryAfter(nil, time.Second) != nil {
		t.Error("a mark on a nil error is not nil")
	}
}

// TestRetryAfterWait: the wait before the next attempt is what RetryAfter
// asks, capped at MaxRetryAfter, and none for a negative wait; Permanent
// wins over RetryAfter.
func TestRetryAfterWait(t *testing.T) {
	waits := make(chan time.Duration, 10)
	mq.SetTestHookRetry(func(w time.Duration) { waits <- w })
	defer mq.SetTestHookRetry(nil)
	c, err := mq.NewClient(memmq.New(memmq.NewBroker(nil)), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := map[string]time.Duration{"long": 2 * time.Hour, "negative": -time.Second, "exact": 90 * time.Second}
	dead := deadLetters(t, c, "t", 2)
	sub, err := c.Subscribe(context.Background(), "t", "g", func(_ context.Context, m *mq.Message) error {
		if m.Key == "permanent" {
			return mq.RetryAfter(mq.Permanent(errors.New("no such order")), time.Millisecond)
		}
		return mq.RetryAfter(errors.New("busy"), ask[m.Key])
	}, mq.WithMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, key := range []string{"long", "negative", "exact", "permanent"} {
		if err := c.Publish(context.Background(), &mq.Message{Topic: "t", Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	// The negative wait retries at once and is dead-lettered after its
	// second attempt; the permanent failure after its first.
	deadAfter := map[string]string{}
	for range 2 {
		select {
		case m := <-dead:
			deadAfter[m.Key] = m.Headers[mq.HeaderDLQAttempts]
		case <-time.After(time.Minute):
			t.Fatalf("dead letters so far: %v", deadAfter)
		}
	}
	if deadAfter["permanent"] != "1" || deadAfter["negative"] != "2" {
		t.Fatalf("dead-lettered %v (key: attempts); want permanent after 1, negative after 2", deadAfter)
	}
	got := map[time.Duration]int{}
	for range 3 { // one retry each of long, negative and exact
		select {
		case w := <-waits:
			got[w]++
		case <-time.After(time.Minute):
			t.Fatalf("waits seen: %v", got)
		}
	}
	if got[mq.MaxRetryAfter] != 1 || got[0] != 1 || got[90*time.Second] != 1 {
		t.Fatalf("waits %v: want %v once (capped), 0 once, 90s once", got, mq.MaxRetryAfter)
	}
}
