package redismq_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestGracefulLeavesHandBackWhatMqNeverReceived: two graceful leaves in a
// row during a backlog, WithMaxAttempts(1), no handler ever fails. Each
// leaving member's reader has fetched far more than mq's small prefetch
// takes (blocked handing a batch over, more batches waiting for Receive):
// all of it is handed back, not left pending for the next owner to wait
// out and count as an attempt (it then arrived as attempt 2 and was
// dead-lettered unhandled).
func TestGracefulLeavesHandBackWhatMqNeverReceived(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	url := r.URL + "?partitions=1&read_count=20&visibility_timeout=2s&heartbeat_interval=100ms&block=100ms&ack_interval=20ms"
	const topic, n = "drop", 400
	var dlq atomic.Int32
	w, err := open(t, url).Subscribe(context.Background(), topic+".dlq", "ops", func(context.Context, *mq.Message) error { dlq.Add(1); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var mu sync.Mutex
	handled := map[string]bool{}
	var last atomic.Int32
	sub := func(id int32) *mq.Subscription {
		s, err := open(t, url).Subscribe(context.Background(), topic, "g", func(_ context.Context, m *mq.Message) error {
			last.Store(id)
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			handled[string(m.Payload)] = true
			mu.Unlock()
			return nil
		}, mq.WithMaxAttempts(1), mq.WithPrefetch(8))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	subs := []*mq.Subscription{sub(0)}
	pub := open(t, url)
	for i := 0; i < n; i++ {
		if err := pub.Publish(context.Background(), &mq.Message{Topic: topic, Key: "k" + strconv.Itoa(i%10), Payload: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	subs = append(subs, sub(1), sub(2))
	for round := 0; round < 2; round++ {
		before := last.Load()
		waitFor(t, "an owner handling", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) > 0 })
		owner := last.Load()
		t.Logf("closing member %d (last was %d)", owner, before)
		if err := subs[owner].Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "another owner", func() bool { return last.Load() != owner })
	}
	waitFor(t, "every message handled or dead-lettered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled)+int(dlq.Load()) >= n
	})
	mu.Lock()
	t.Logf("handled %d, dead-lettered %d", len(handled), dlq.Load())
	mu.Unlock()
	if dlq.Load() > 0 {
		t.Errorf("%d messages dead-lettered that no handler failed (graceful leaves only)", dlq.Load())
	}
	for _, s := range subs {
		s.Close()
	}
}
