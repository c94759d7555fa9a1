package redismq_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

func redisClient(t *testing.T) redis.UniversalClient {
	opt, err := redis.ParseURL(testserver.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestDedupStore(t *testing.T) {
	rdb := redisClient(t)
	ctx := context.Background()
	store, err := redismq.NewDedup(rdb, &redismq.DedupOptions{TTL: time.Hour, Lease: 200 * time.Millisecond, Prefix: "test:dedup:"})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(group, id, owner string, want mq.DedupState) {
		t.Helper()
		if got, err := store.Claim(ctx, group, id, owner); err != nil || got != want {
			t.Fatalf("Claim(%s, %s, %s) = %v, %v; want %v", group, id, owner, got, err, want)
		}
	}
	claim("g", "id-1", "a", mq.DedupClaimed)
	claim("g", "id-1", "a", mq.DedupClaimed) // its own claim again
	claim("g", "id-1", "b", mq.DedupBusy)
	if err := store.Release(ctx, "g", "id-1", "b"); err != nil { // not b's: no effect
		t.Fatal(err)
	}
	claim("g", "id-1", "b", mq.DedupBusy)
	if err := store.Release(ctx, "g", "id-1", "a"); err != nil {
		t.Fatal(err)
	}
	claim("g", "id-1", "b", mq.DedupClaimed)
	if err := store.Done(ctx, "g", "id-1"); err != nil {
		t.Fatal(err)
	}
	claim("g", "id-1", "a", mq.DedupDone)
	claim("g", "id-1", "b", mq.DedupDone)
	claim("other-group", "id-1", "a", mq.DedupClaimed)
	// A group name with ':' reaches no other group's IDs.
	if err := store.Done(ctx, "a", "b:c"); err != nil {
		t.Fatal(err)
	}
	claim("a:b", "c", "x", mq.DedupClaimed)
	ttl, err := rdb.PTTL(ctx, "test:dedup:1:g:id-1").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("done mark TTL %v (%v), want within (0, 1h]", ttl, err)
	}
	// A claim whose member died ends with its lease.
	claim("g", "id-2", "dead", mq.DedupClaimed)
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := store.Claim(ctx, "g", "id-2", "alive")
		if err != nil {
			t.Fatal(err)
		}
		if st == mq.DedupClaimed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a dead member's claim never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, o := range []*redismq.DedupOptions{{TTL: -1}, {Lease: time.Microsecond}} {
		if _, err := redismq.NewDedup(rdb, o); !errors.Is(err, mq.ErrInvalid) {
			t.Errorf("NewDedup(%+v): %v, want ErrInvalid", *o, err)
		}
	}
	if _, err := redismq.NewDedup(nil, nil); !errors.Is(err, mq.ErrInvalid) {
		t.Fatalf("nil client: %v", err)
	}
}

// TestDedupAcrossClients: a message one member handled is skipped by a
// member in another client (another process, in production) that shares
// the Redis store.
func TestDedupAcrossClients(t *testing.T) {
	rdb := redisClient(t)
	ctx := context.Background()
	url := "mem://dedup-across"
	var mu sync.Mutex
	var handled []string
	handler := func(_ context.Context, m *mq.Message) error {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, string(m.Payload))
		return nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(handled) }
	for i, payload := range []string{"first", "duplicate"} {
		store, _ := redismq.NewDedup(rdb, &redismq.DedupOptions{Prefix: "test:across:"})
		c, err := mq.Open(ctx, url, mq.WithDedup(store))
		if err != nil {
			t.Fatal(err)
		}
		sub, err := c.Subscribe(ctx, "orders", "billing", handler)
		if err != nil {
			t.Fatal(err)
		}
		msgs := []*mq.Message{{Topic: "orders", ID: "order-1", Key: "k", Payload: []byte(payload)}}
		if i == 1 {
			msgs = append(msgs, &mq.Message{Topic: "orders", Key: "k", Payload: []byte("marker")})
		}
		if err := c.Publish(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		want := 1 // "first"; then "marker" while "duplicate" is skipped
		if i == 1 {
			want = 2
		}
		deadline := time.Now().Add(time.Minute)
		for count() < want {
			if time.Now().After(deadline) {
				t.Fatalf("handled %v", handled)
			}
			time.Sleep(5 * time.Millisecond)
		}
		sub.Close()
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 2 || handled[0] != "first" || handled[1] != "marker" {
		t.Fatalf("handled %v, want [first marker]", handled)
	}
}
