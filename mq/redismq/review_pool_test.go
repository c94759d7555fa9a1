package redismq_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// TestReviewCloseWithThePoolHeldByReads: the blocked reads of a
// subscription hold every connection of the caller's pool (pool_size no
// larger than the partitions a server holds). Close must still end them
// at once: its CLIENT UNBLOCKs cannot wait for a pooled connection, which
// would come back only when a read ends by itself, after block (10
// minutes here). On a Cluster, each UNBLOCK must reach the node that
// holds its read, and the node holding the most reads has its pool full.
func TestReviewCloseWithThePoolHeldByReads(t *testing.T) {
	const partitions = 4
	opts := &redismq.Options{Partitions: partitions, Block: 10 * time.Minute,
		VisibilityTimeout: 10 * time.Minute, HeartbeatInterval: 5 * time.Minute}
	streams := make([]string, partitions)
	for p := range streams {
		streams[p] = "mq:{held/" + strconv.Itoa(p) + "}"
	}

	t.Run("standalone", func(t *testing.T) {
		r := testserver.StartRedis(t, nil)
		raw := rawClient(t, r.Addr)
		shared := redis.NewClient(&redis.Options{Addr: r.Addr, PoolSize: partitions})
		defer shared.Close()
		closeHeld(t, shared, opts, func() bool {
			s := shared.PoolStats()
			return blockedReads(t, raw) == partitions && s.TotalConns == partitions && s.IdleConns == 0
		}, func() bool { return blockedReads(t, raw) == 0 })
	})

	t.Run("cluster", func(t *testing.T) {
		rc := testserver.StartRedisCluster(t)
		probe := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
		defer probe.Close()
		reads := map[string]int{} // node address -> partitions it holds
		for _, s := range streams {
			node, err := probe.MasterForKey(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			reads[node.Options().Addr]++
		}
		most := 0
		raws := map[string]*redis.Client{}
		for addr, n := range reads {
			most = max(most, n)
			raws[addr] = rawClient(t, addr)
		}
		blocked := func() map[string]int {
			got := map[string]int{}
			for addr, raw := range raws {
				got[addr] = blockedReads(t, raw)
			}
			return got
		}
		shared := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs, PoolSize: most})
		defer shared.Close()
		closeHeld(t, shared, opts, func() bool {
			got := blocked()
			for addr, n := range reads {
				if got[addr] != n {
					return false
				}
			}
			return true
		}, func() bool {
			for _, n := range blocked() {
				if n != 0 {
					return false
				}
			}
			return true
		})
	})
}

// closeHeld subscribes to topic "held" on shared, waits until held says
// the reads hold the pool, closes the client and checks with ended that
// no read is left blocked.
func closeHeld(t *testing.T, shared redis.UniversalClient, opts *redismq.Options, held, ended func() bool) {
	t.Helper()
	conn, err := redismq.New(shared, opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mq.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Subscribe(context.Background(), "held", "g", noop); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every partition's read blocked, holding the pool", held)
	within(t, "Client.Close", func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	if !ended() {
		t.Error("after Client.Close reads are still blocked on the server")
	}
	if err := shared.Ping(context.Background()).Err(); err != nil {
		t.Errorf("the caller's client after Close: %v", err)
	}
}
