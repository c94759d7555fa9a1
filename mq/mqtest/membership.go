package mqtest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

// testMembershipChurn: members join, leave gracefully and die in the
// middle of a backlog, with WithMaxAttempts(1) and handlers that never
// fail. A hand-over is not an attempt, so nothing may reach the
// dead-letter topic; nothing may be lost; per-key order and exclusivity
// hold across members.
func testMembershipChurn(t *testing.T, h Harness) {
	ctx := context.Background()
	topic := uniqueTopic(t)
	var deadLettered atomic.Int32
	watch, err := h.client(t).Subscribe(ctx, topic+".dlq", "watch", func(context.Context, *mq.Message) error {
		deadLettered.Add(1)
		return nil
	}, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	oc := NewOrderChecker()
	oc.Pause = time.Millisecond // slow enough for the backlog to outlast the churn
	opts := h.subOpts(mq.WithMaxAttempts(1), mq.WithConcurrency(4))
	type member struct {
		c   *mq.Client
		sub *mq.Subscription
	}
	join := func() member {
		c := h.client(t)
		sub, err := c.Subscribe(ctx, topic, "churn", oc.Handle, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return member{c, sub}
	}
	progress := func(what string, n int64) {
		t.Helper()
		h.waitFor(t, what, func() bool { return oc.Handled() >= n || oc.Done(-1) })
		t.Logf("%s: %d handled", what, oc.Handled())
	}

	const keys, perKey = 100, 30
	pub := h.client(t)
	first := join()
	PublishSequenced(t, pub, topic, keys, perKey)
	progress("backlog started", 100)
	second := join()
	progress("second member in", 300)
	third := join()
	progress("third member in", 500)
	if err := first.sub.Close(); err != nil { // a graceful leave
		t.Fatalf("leave: %v", err)
	}
	progress("first member left", 700)
	// The second dies: a shutdown whose deadline has passed abandons its
	// running handlers without acknowledging them, as a crash would.
	expired, cancel := context.WithCancel(ctx)
	cancel()
	_ = second.sub.Shutdown(expired)
	progress("second member died", 900)
	fourth := join()
	defer fourth.sub.Close()
	defer third.sub.Close()
	h.waitFor(t, "every message in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	if n := deadLettered.Load(); n > 0 {
		t.Errorf("%d messages were dead-lettered, yet no handler failed: hand-overs counted as attempts", n)
	}
}

// testDedupConcurrentDuplicates: two deliveries of one ID on different keys
// (so two workers take them at once) never both run: the store is claimed
// before the handler starts, and the second waits for the first.
func testDedupConcurrentDuplicates(t *testing.T, h Harness) {
	store, err := mq.NewMemoryDedup(1000)
	if err != nil {
		t.Fatal(err)
	}
	c := h.client(t, mq.WithDedup(store))
	topic := uniqueTopic(t)
	var runs atomic.Int32
	var firstDone atomic.Bool
	var once sync.Once
	second := make(chan struct{})
	sub, err := c.Subscribe(context.Background(), topic, "g", func(context.Context, *mq.Message) error {
		if runs.Add(1) > 1 {
			once.Do(func() { close(second) })
			return nil
		}
		// The first run waits for a second one to start, which must not
		// happen; the wait is bounded only so that the test ends.
		select {
		case <-second:
		case <-time.After(2 * time.Second):
		}
		firstDone.Store(true)
		return nil
	}, h.subOpts(mq.WithConcurrency(2), fastRedelivery)...)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Publish(context.Background(),
		&mq.Message{Topic: topic, ID: "dup", Key: "a"},
		&mq.Message{Topic: topic, ID: "dup", Key: "b"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the first run to end", firstDone.Load)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the handler ran %d times for one ID, %d of them at once", n, n)
	}
}
