package redismq_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// holdProxy forwards to target. While armed, the first command holding
// "unblock" is held back (with what follows on its connection) until
// release: a command written, whose sender gave up waiting for the
// answer, and that reaches the server late (a slow network path).
type holdProxy struct {
	*tcpProxy
	armed    atomic.Bool
	held     chan struct{} // closed when a command is held
	release  chan struct{} // close to send it on
	answered chan struct{} // closed when the server answered it
}

func newHoldProxy(t *testing.T, target string) *holdProxy {
	p := &holdProxy{held: make(chan struct{}), release: make(chan struct{}), answered: make(chan struct{})}
	p.tcpProxy = newTCPProxy(t, target, p.pump)
	return p
}

func (p *holdProxy) pump(c, u net.Conn) {
	var holding atomic.Bool
	go func() {
		var held []byte
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 && !holding.Load() && bytes.Contains(bytes.ToLower(buf[:n]), []byte("unblock")) && p.armed.CompareAndSwap(true, false) {
				holding.Store(true)
				close(p.held)
			}
			if n > 0 && holding.Load() {
				held = append(held, buf[:n]...)
			} else if n > 0 {
				if _, werr := u.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
			if err != nil {
				if holding.Load() {
					<-p.release
					u.Write(held) // the server reads it after the sender is gone
					return        // the reader below closes u once answered
				}
				u.Close()
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := u.Read(buf)
			if n > 0 && holding.Load() {
				close(p.answered)
				c.Close()
				u.Close()
				return
			}
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil && !holding.Load() {
					err = werr
				}
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
}

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
	px := newHoldProxy(t, r.Addr)
	shared := redis.NewClient(&redis.Options{Addr: px.l.Addr().String(), PoolSize: 16, ReadTimeout: 500 * time.Millisecond})
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
	px.armed.Store(true)
	within(t, "Subscription.Close", func() {
		if err := sub.Close(); err != nil {
			t.Error(err)
		}
	})
	<-px.held
	n := int(shared.PoolStats().IdleConns)
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, results[i] = shared.BLPop(context.Background(), 0, "list"+strconv.Itoa(i)).Result()
		})
	}
	waitFor(t, "the application's BLPOPs blocked", func() bool { return blockedIn(t, raw, "blpop") == n })
	close(px.release)
	<-px.answered
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
