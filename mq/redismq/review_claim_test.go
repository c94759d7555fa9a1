package redismq_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// TestReviewLostClaimReplyIsDelivered: a member takes over a partition
// whose entry a dead member left pending (idle an hour, delivered twice:
// its first death is not counted, so its next run is attempt 2). The
// reply to the member's XCLAIM is lost on the wire after the server
// acted on it: the entry now belongs to the member, idle for almost no
// time, so claiming it again with the visibility timeout as the least
// idle time gets nothing. The member must still find it and handle it at
// once, as attempt 2 (the lost reply is not a run), and acknowledge it.
func TestReviewLostClaimReplyIsDelivered(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	raw := rawClient(t, r.Addr)
	ctx := context.Background()
	const stream = "mq:{claimed/0}"
	if err := raw.XGroupCreateMkStream(ctx, stream, "g", "$").Err(); err != nil {
		t.Fatal(err)
	}
	id, err := raw.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []string{"payload", "orphan"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "dead", Streams: []string{stream, ">"}}).Err(); err != nil {
		t.Fatal(err)
	}
	// Orphaned long ago, after two deliveries.
	if err := raw.Do(ctx, "XCLAIM", stream, "g", "dead", 0, id, "IDLE", time.Hour.Milliseconds(), "RETRYCOUNT", 2).Err(); err != nil {
		t.Fatal(err)
	}

	px := testserver.NewRedisProxy(t, r.Addr)
	// The first non-nil reply to an XCLAIM is lost, and its connection cut.
	dropped := px.DropReply(testserver.Drop{SkipEmpty: true, Command: func(cmd []byte) bool {
		return bytes.Contains(cmd, []byte("xclaim"))
	}})
	shared := redis.NewClient(&redis.Options{Addr: px.Addr(), PoolSize: 16})
	defer shared.Close()
	conn, err := redismq.New(shared, &redismq.Options{Partitions: 1, Block: 10 * time.Minute,
		VisibilityTimeout: 10 * time.Minute, HeartbeatInterval: 5 * time.Minute, AckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mq.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type run struct {
		payload string
		attempt int
	}
	got := make(chan run, 4)
	sub, err := c.Subscribe(ctx, "claimed", "g", func(_ context.Context, m *mq.Message) error {
		got <- run{string(m.Payload), m.Attempt}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	<-dropped
	var first run
	waitFor(t, "the orphaned entry handled", func() bool {
		select {
		case first = <-got:
			return true
		default:
			return false
		}
	})
	if first != (run{"orphan", 2}) {
		t.Errorf("handled %+v, want the orphan as attempt 2", first)
	}
	waitFor(t, "the entry acknowledged", func() bool { return pendingOf(t, raw, "claimed") == 0 })
	select {
	case again := <-got:
		t.Errorf("handled again: %+v", again)
	default:
	}
}
