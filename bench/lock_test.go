package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bsm/redislock"
	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// lockImpl is one library's Obtain+Release of key.
type lockImpl func(ctx context.Context, key string) error

func lockImpls(rdb *redis.Client) map[string]lockImpl {
	const ttl = 5 * time.Second
	gw := lock.New(rdb, lock.WithRetry(lock.LinearRetry(time.Millisecond)))
	rs := redsync.New(goredis.NewPool(rdb))
	rl := redislock.New(rdb)
	rlOpts := &redislock.Options{RetryStrategy: redislock.LinearBackoff(time.Millisecond)}
	return map[string]lockImpl{
		"groundwork": func(ctx context.Context, key string) error {
			lk, err := gw.Obtain(ctx, key, ttl)
			if err != nil {
				return err
			}
			return lk.Release(ctx)
		},
		"redsync": func(ctx context.Context, key string) error {
			m := rs.NewMutex(key, redsync.WithExpiry(ttl), redsync.WithTries(1<<20), redsync.WithRetryDelay(time.Millisecond))
			if err := m.LockContext(ctx); err != nil {
				return err
			}
			ok, err := m.UnlockContext(ctx)
			if !ok && err == nil {
				err = errors.New("redsync: unlock failed")
			}
			return err
		},
		"redislock": func(ctx context.Context, key string) error {
			lk, err := rl.Obtain(ctx, key, ttl, rlOpts)
			if err != nil {
				return err
			}
			return lk.Release(ctx)
		},
	}
}

// BenchmarkLock: one op is one Obtain and one Release on one
// redis-server. Uncontended: one goroutine. Contended: 16 goroutines on
// one key, each retrying every 1ms (the same strategy for all three).
func BenchmarkLock(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, PoolSize: 64})
	defer rdb.Close()
	ctx := context.Background()
	for _, name := range []string{"groundwork", "redsync", "redislock"} {
		impl := lockImpls(rdb)[name]
		b.Run("uncontended/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := impl(ctx, "bench-u-"+name); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "locks/s")
		})
	}
	for _, name := range []string{"groundwork", "redsync", "redislock"} {
		impl := lockImpls(rdb)[name]
		b.Run("contended16/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8) // 8 per core: 16 on 2 cores
			key := fmt.Sprint("bench-c-", name)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := impl(ctx, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "locks/s")
		})
	}
}
