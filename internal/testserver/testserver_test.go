package testserver

import (
	"context"
	"strings"
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
