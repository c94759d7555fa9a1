package session_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
	"github.com/groundwork-go/groundwork/session/sessiontest"
)

// The Store contract, run against every store this package has, each on
// a real server.

func TestMemoryStoreContract(t *testing.T) {
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(t *testing.T) session.Store {
		return session.NewMemoryStore()
	}})
}

func TestRedisStoreContract(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: testserver.StartRedis(t, nil).Addr})
	defer rdb.Close()
	n := 0
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(t *testing.T) session.Store {
		// Each test its own prefix: no test sees another's keys.
		n++
		return newRedisStore(t, rdb, n)
	}})
}

func TestRedisClusterStoreContract(t *testing.T) {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testserver.StartRedisCluster(t).Addrs})
	defer rdb.Close()
	n := 0
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(t *testing.T) session.Store {
		n++
		return newRedisStore(t, rdb, n)
	}})
}

func TestPostgresStoreContract(t *testing.T) {
	url := testserver.PostgresURL(t)
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(t *testing.T) session.Store {
		return newTestPostgresStoreOn(t, url)
	}})
}

// newRedisStore returns a RedisStore on an emptied server: the tests run
// one after another, so none sees another's keys. (n numbers the stores,
// for a per-test prefix once the core's StoreOption for it exists.)
func newRedisStore(t *testing.T, rdb redis.UniversalClient, n int) session.Store {
	t.Helper()
	_ = n
	ctx := t.Context()
	var err error
	if c, ok := rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.FlushAll(ctx).Err() })
	} else {
		err = rdb.FlushAll(ctx).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
	return session.NewRedisStore(rdb)
}
