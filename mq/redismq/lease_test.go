package redismq_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestLostLeaseFencesTheMember: a member whose partition lease is taken
// (here by hand, as when it could not renew in time and another member
// took over) stops handling the partition at once: the handler running
// sees its context cancelled, and what was queued behind it is handed
// back. Neither counts as an attempt: with WithMaxAttempts(1) nothing is
// dead-lettered, and when the partition is owned again everything is
// handled, in order, as attempt 1.
func TestLostLeaseFencesTheMember(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	url := r.URL + "?" + testParams + "&partitions=1"
	const topic = "fenced"
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	c := open(t, url)

	var deadLettered atomic.Int32
	watch, err := c.Subscribe(context.Background(), topic+".dlq", "ops", func(context.Context, *mq.Message) error {
		deadLettered.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	var mu sync.Mutex
	var handled []string
	attempts := map[string]int{}
	started, cancelled := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	sub, err := c.Subscribe(context.Background(), topic, "g", func(ctx context.Context, m *mq.Message) error {
		if string(m.Payload) == "1" && first.CompareAndSwap(false, true) {
			close(started)
			<-ctx.Done() // until the lease is lost
			close(cancelled)
			return ctx.Err()
		}
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, string(m.Payload))
		attempts[string(m.Payload)] = m.Attempt
		return nil
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var msgs []*mq.Message
	for _, p := range []string{"1", "2", "3", "4"} {
		msgs = append(msgs, &mq.Message{Topic: topic, Key: "k", Payload: []byte(p)})
	}
	if err := c.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	<-started
	lease := "mq:{" + topic + "/0}:lease:g"
	if err := rdb.Set(context.Background(), lease, "intruder", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the running handler's context to be cancelled", func() bool {
		select {
		case <-cancelled:
			return true
		default:
			return false
		}
	})
	mu.Lock()
	if len(handled) > 0 {
		t.Errorf("the fenced member handled %v after losing the lease", handled)
	}
	mu.Unlock()
	// The intruder goes; the member takes the partition back and claims
	// what it handed back.
	if err := rdb.Del(context.Background(), lease).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) == 4 })
	mu.Lock()
	defer mu.Unlock()
	for i, p := range []string{"1", "2", "3", "4"} {
		if handled[i] != p {
			t.Fatalf("handled %v, want 1 2 3 4", handled)
		}
		if attempts[p] != 1 {
			t.Errorf("message %s arrived as attempt %d: a lost lease counted as an attempt", p, attempts[p])
		}
	}
	if n := deadLettered.Load(); n != 0 {
		t.Errorf("%d messages dead-lettered", n)
	}
}
