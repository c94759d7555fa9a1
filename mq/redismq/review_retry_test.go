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

// TestReviewLostReplyWithClientRetries: a member built with New on the
// caller's go-redis client, which retries a command whose connection
// failed (go-redis's default, MaxRetries 3). The reply to a read that
// went without BLOCK, holding an entry, is lost on the wire. The entry is
// pending for the member, which must still find and handle it, rather
// than have go-redis re-send the read (which finds nothing new) and the
// member never learn that a read failed.
func TestReviewLostReplyWithClientRetries(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	raw := rawClient(t, r.Addr)
	px := testserver.NewRedisProxy(t, r.Addr)
	shared := redis.NewClient(&redis.Options{Addr: px.Addr(), PoolSize: 16}) // MaxRetries: go-redis's default
	defer shared.Close()
	conn, err := redismq.New(shared, &redismq.Options{Partitions: 1, ReadCount: 1, Block: 10 * time.Minute,
		VisibilityTimeout: 10 * time.Minute, HeartbeatInterval: 5 * time.Minute, AckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mq.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 2)
	sub, err := c.Subscribe(context.Background(), "retried", "g", func(_ context.Context, m *mq.Message) error {
		got <- string(m.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, "the member's read blocked", func() bool { return blockedReads(t, raw) == 1 })
	// The first reply to a read without BLOCK that holds entries (not a
	// nil reply) is lost, and its connection cut: a reply lost on the
	// wire after the server acted on the command.
	dropped := px.DropReply(testserver.Drop{SkipEmpty: true, Command: func(cmd []byte) bool {
		return bytes.Contains(cmd, []byte("xreadgroup")) && !bytes.Contains(cmd, []byte("block"))
	}})
	// Two entries at once: the blocked read (COUNT 1) returns the first,
	// the next read, without BLOCK, the second; its reply is lost.
	_, err = raw.Pipelined(context.Background(), func(p redis.Pipeliner) error {
		for _, s := range []string{"first", "second"} {
			p.XAdd(context.Background(), &redis.XAddArgs{Stream: "mq:{retried/0}", Values: []string{"payload", s}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-dropped
	seen := map[string]bool{}
	waitFor(t, "both entries handled", func() bool {
		for {
			select {
			case s := <-got:
				seen[s] = true
				continue
			default:
			}
			return seen["first"] && seen["second"]
		}
	})
}
