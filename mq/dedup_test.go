package mq_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
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

func TestRedisDedupStore(t *testing.T) {
	rdb := redisClient(t)
	ctx := context.Background()
	store, err := mq.NewRedisDedup(rdb, time.Hour, "test:dedup:")
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := store.Seen(ctx, "g", "id-1"); err != nil || seen {
		t.Fatalf("fresh id: seen=%v err=%v", seen, err)
	}
	if err := store.MarkDone(ctx, "g", "id-1"); err != nil {
		t.Fatal(err)
	}
	if seen, _ := store.Seen(ctx, "g", "id-1"); !seen {
		t.Fatal("marked id not seen")
	}
	if seen, _ := store.Seen(ctx, "other-group", "id-1"); seen {
		t.Fatal("another group shares the mark")
	}
	ttl, err := rdb.PTTL(ctx, "test:dedup:g:id-1").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("mark TTL %v (%v), want within (0, 1h]", ttl, err)
	}
	if _, err := mq.NewRedisDedup(nil, time.Hour, ""); err == nil {
		t.Fatal("nil client accepted")
	}
	if _, err := mq.NewRedisDedup(rdb, 0, ""); err == nil {
		t.Fatal("zero TTL accepted")
	}
}

// TestRedisDedupAcrossClients: a message one member handled is skipped by a
// member in another client (another process, in production) that shares
// the Redis store.
func TestRedisDedupAcrossClients(t *testing.T) {
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
		store, _ := mq.NewRedisDedup(rdb, time.Hour, "test:across:")
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
