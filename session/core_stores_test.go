package session_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
	"github.com/groundwork-go/groundwork/session/sessiontest"
)

var prefixes atomic.Int64

// corePrefix is a key prefix no other store of the test run uses.
func corePrefix() string { return fmt.Sprintf("t%d:", prefixes.Add(1)) }

func TestMemoryStoreContract(t *testing.T) {
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(*testing.T) session.Store { return session.NewMemoryStore() }})
}

func TestRedisStoreContract(t *testing.T) {
	rdb := redisClient(t, testserver.RedisURL(t))
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(*testing.T) session.Store {
		return session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix()))
	}})
}

func TestRedisClusterStoreContract(t *testing.T) {
	rc := testserver.StartRedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(*testing.T) session.Store {
		return session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix()))
	}})
}

// TestRedisSentinelStoreContract: through a FailoverClient, which finds
// the master by asking a Sentinel.
func TestRedisSentinelStoreContract(t *testing.T) {
	rs := testserver.StartRedisSentinel(t)
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: rs.MasterName, SentinelAddrs: rs.Addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(*testing.T) session.Store {
		return session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix()))
	}})
}

func TestPostgresStoreContract(t *testing.T) {
	url := sharedPostgres.Get(t)
	sessiontest.RunStoreTests(t, sessiontest.Harness{NewStore: func(t *testing.T) session.Store {
		st, err := session.NewPostgresStore(newTestPostgresPool(t, url))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}})
}

func TestRedisStoreBadOption(t *testing.T) {
	st := session.NewRedisStore(redisClient(t, testserver.RedisURL(t)), session.WithKeyPrefix("a{b}"))
	_, err := st.LoadSession(context.Background(), session.Ref{}, base)
	if err == nil || !errorsIs(err, session.ErrInvalid) {
		t.Fatalf("a store with a bad prefix answered %v, want ErrInvalid naming the prefix", err)
	}
}
