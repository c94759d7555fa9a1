package redismq_test

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// cmdProxy forwards to target. While armed, the first reply to a command
// that match picks, and that holds entries (not a nil reply), is thrown
// away and its connection cut: a reply lost on the wire after the server
// acted on the command.
type cmdProxy struct {
	*tcpProxy
	match   func(cmd []byte) bool
	armed   atomic.Bool
	dropped chan struct{}
}

func newCmdProxy(t *testing.T, target string, match func(cmd []byte) bool) *cmdProxy {
	p := &cmdProxy{match: match, dropped: make(chan struct{})}
	p.tcpProxy = newTCPProxy(t, target, p.pump)
	return p
}

func (p *cmdProxy) pump(c, u net.Conn) {
	var target atomic.Bool // the reply on its way is the one to drop
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				target.Store(p.armed.Load() && p.match(bytes.ToLower(buf[:n])))
				if _, werr := u.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
			if err != nil {
				u.Close()
				return
			}
		}
	}()
	go pumpReplies(c, u, func(reply []byte) bool {
		empty := bytes.HasPrefix(reply, []byte("_\r\n")) || bytes.HasPrefix(reply, []byte("*-1\r\n"))
		return target.Load() && !empty && p.armed.CompareAndSwap(true, false)
	}, p.dropped)
}

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
	px := newCmdProxy(t, r.Addr, func(cmd []byte) bool {
		return bytes.Contains(cmd, []byte("xreadgroup")) && !bytes.Contains(cmd, []byte("block"))
	})
	shared := redis.NewClient(&redis.Options{Addr: px.l.Addr().String(), PoolSize: 16}) // MaxRetries: go-redis's default
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
	px.armed.Store(true)
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
	<-px.dropped
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
