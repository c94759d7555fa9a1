package redismq_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// blockedIn counts the clients blocked in command cmd on the server.
func blockedIn(t *testing.T, rdb *redis.Client, cmd string) int {
	n := 0
	for _, c := range clientsOf(t, rdb) {
		if c["cmd"] == cmd && strings.Contains(c["flags"], "b") {
			n++
		}
	}
	return n
}

// TestReviewLateUnblockSparesTheSharedPool: a closing member's CLIENT
// UNBLOCK goes unanswered within the client's read timeout (its path to
// the server is slow) and reaches the server late, after a second one
// ended the read and the reader gave its connection back to the pool it
// shares with the application. The application's own BLPOPs, on every
// connection of that pool, must not be ended by it: each waits for its
// element.
func TestReviewLateUnblockSparesTheSharedPool(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	raw := rawClient(t, r.Addr)
	px := testserver.NewRedisProxy(t, r.Addr)
	shared := redis.NewClient(&redis.Options{Addr: px.Addr(), PoolSize: 16, ReadTimeout: 500 * time.Millisecond})
	defer shared.Close()
	conn, err := redismq.New(shared, &redismq.Options{Partitions: 1, Block: 10 * time.Minute,
		VisibilityTimeout: 10 * time.Minute, HeartbeatInterval: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mq.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(context.Background(), "late", "g", noop)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the member's read blocked", func() bool { return blockedIn(t, raw, "xreadgroup") == 1 })
	// The first command holding "unblock" is held back until released:
	// written, its sender gives up waiting for the answer, and it reaches
	// the server late (a slow network path).
	held := px.Hold(func(cmd []byte) bool { return bytes.Contains(cmd, []byte("unblock")) })
	within(t, "Subscription.Close", func() {
		if err := sub.Close(); err != nil {
			t.Error(err)
		}
	})
	<-held.Holding()
	n := int(shared.PoolStats().IdleConns)
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, results[i] = shared.BLPop(context.Background(), 0, "list"+strconv.Itoa(i)).Result()
		})
	}
	waitFor(t, "the application's BLPOPs blocked", func() bool { return blockedIn(t, raw, "blpop") == n })
	held.Release()
	<-held.Answered()
	for i := range n {
		if err := raw.LPush(context.Background(), "list"+strconv.Itoa(i), "x").Err(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, err := range results {
		if errors.Is(err, redis.Nil) {
			t.Errorf("BLPOP %d of the application returned nothing: the member's late UNBLOCK ended it", i)
		} else if err != nil {
			t.Errorf("BLPOP %d: %v", i, err)
		}
	}
}
