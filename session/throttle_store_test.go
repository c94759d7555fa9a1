package session_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
	"github.com/groundwork-go/groundwork/session/sessiontest"
)

// The ThrottleStore contract on every store, against real servers.
func TestThrottleStores(t *testing.T) {
	t.Run("Memory", func(t *testing.T) {
		sessiontest.RunThrottleTests(t, func(*testing.T) session.ThrottleStore { return session.NewMemoryStore() })
	})
	t.Run("Redis", func(t *testing.T) {
		rdb := throttleRedis(t, testserver.RedisURL(t))
		sessiontest.RunThrottleTests(t, func(t *testing.T) session.ThrottleStore {
			if err := rdb.FlushDB(context.Background()).Err(); err != nil { // one server serves every test
				t.Fatal(err)
			}
			return session.NewRedisStore(rdb)
		})
	})
	t.Run("RedisCluster", func(t *testing.T) {
		rc := testserver.StartRedisCluster(t)
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs, MaxRetries: -1})
		t.Cleanup(func() { rdb.Close() })
		sessiontest.RunThrottleTests(t, func(t *testing.T) session.ThrottleStore {
			err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error { return c.FlushDB(ctx).Err() })
			if err != nil {
				t.Fatal(err)
			}
			return session.NewRedisStore(rdb)
		})
	})
	t.Run("Postgres", func(t *testing.T) {
		url := testserver.PostgresURL(t)
		sessiontest.RunThrottleTests(t, func(t *testing.T) session.ThrottleStore {
			pool, err := pgxpool.New(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			if _, err := pool.Exec(context.Background(), `DROP TABLE IF EXISTS session_throttle`); err != nil {
				t.Fatal(err)
			}
			s, err := session.NewPostgresStore(pool)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

func throttleRedis(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	o.MaxRetries = -1
	rdb := redis.NewClient(o)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
