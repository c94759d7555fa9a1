package testserver

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisStartsRestartsAndKeepsAOF(t *testing.T) {
	r := StartRedis(t, &RedisOptions{AppendOnly: true})
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// appendfsync everysec: force the AOF to disk before the crash.
	if err := rdb.Do(ctx, "BGREWRITEAOF").Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := rdb.Info(ctx, "persistence").Result()
		if err != nil {
			t.Fatal(err)
		}
		if contains(info, "aof_rewrite_in_progress:0") && contains(info, "aof_rewrite_scheduled:0") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Kill()
	if rdb.Ping(ctx).Err() == nil {
		t.Fatal("server still answers after Kill")
	}
	r.Restart(t)
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestRedisClusterServesAllSlots(t *testing.T) {
	rc := StartRedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
	defer rdb.Close()
	ctx := context.Background()
	// Keys spread over all three masters; each must round-trip.
	for i := range 30 {
		k := "key-" + strings.Repeat("x", i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := rdb.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("%s: %d, %v", k, v, err)
		}
	}
	var masters atomic.Int32 // ForEachMaster runs the masters concurrently
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		masters.Add(1)
		return nil
	})
	if err != nil || masters.Load() != 3 {
		t.Fatalf("%d masters (%v), want 3", masters.Load(), err)
	}
}
