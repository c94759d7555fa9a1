package cache_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// heldConn is a connection whose reads can be held back, as a slow
// network would: what the server sends waits until release.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	gate chan struct{} // closed: reads flow
}

// Read passes on what arrived once the gate is open: data that arrives
// while held waits, even if a Read was already blocked for it.
func (c *heldConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	gate := c.gate
	c.mu.Unlock()
	<-gate
	return n, err
}

func (c *heldConn) hold() {
	c.mu.Lock()
	c.gate = make(chan struct{})
	c.mu.Unlock()
}

func (c *heldConn) release() {
	c.mu.Lock()
	close(c.gate)
	c.mu.Unlock()
}

// TestReadYourWrites: B's invalidations are held back, so its L1 keeps
// the old value after A's write; a read on B carrying the write's token
// (passed as a string, as through a cookie) gets the new value all the
// same, and once the invalidation arrives B serves it from L1 again.
func TestReadYourWrites(t *testing.T) {
	addr := testserver.StartRedis(t, nil).Addr
	ctx := context.Background()
	a := newCache[string](t, rclient(t, addr))

	bc, first := clientWithHeldFirstConn(t, addr)
	b := newCache[string](t, bc)
	sub := <-first

	if err := a.Set(ctx, "profile", "old"); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b, "profile")
	sub.hold()
	var tok cache.Token
	if err := a.Set(ctx, "profile", "new", cache.ReturnToken(&tok)); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Get(ctx, "profile"); v != "old" {
		t.Fatalf("B without the token: %q; the test needs B's L1 stale", v)
	}
	parsed, err := cache.ParseToken(tok.String())
	if err != nil || parsed != tok {
		t.Fatalf("token round trip: %v %v", parsed, err)
	}
	withTok := cache.WithTokens(ctx, parsed)
	for range 3 {
		if v, err := b.Get(withTok, "profile"); err != nil || v != "new" {
			t.Fatalf("B with the token: %q %v, want new", v, err)
		}
	}
	sub.release()
	testserver.WaitFor(t, patience, "B to serve the new value from L1 with the token", func() bool {
		before := b.Stats().L1Hits
		v, err := b.Get(withTok, "profile")
		if err != nil || v != "new" {
			t.Fatalf("B with the token: %q %v", v, err)
		}
		return b.Stats().L1Hits > before
	})
}

func TestParseTokenRejects(t *testing.T) {
	for _, s := range []string{"", "nocolon", "123:k", "zzzzzzzzzzzzzzzz:k", "00000000000000ab:"} {
		if _, err := cache.ParseToken(s); !errors.Is(err, cache.ErrInvalid) {
			t.Errorf("ParseToken(%q): %v, want ErrInvalid", s, err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("00000000000000ab:user:1")
	f.Add(":::")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := cache.ParseToken(s)
		if err != nil {
			return
		}
		again, err := cache.ParseToken(tok.String())
		if err != nil || again != tok {
			t.Fatalf("%q: round trip %v %v", s, again, err)
		}
	})
}

// clientWithHeldFirstConn returns a client whose connections can be held
// back (heldConn) and a channel that yields its first one: a Cache's
// invalidation subscription, since New subscribes before anything else is
// sent.
func clientWithHeldFirstConn(t *testing.T, addr string) (*redis.Client, <-chan *heldConn) {
	t.Helper()
	first := make(chan *heldConn, 1)
	bc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			h := &heldConn{Conn: conn, gate: make(chan struct{})}
			close(h.gate)
			select {
			case first <- h:
			default:
			}
			return h, nil
		}})
	t.Cleanup(func() { bc.Close() })
	return bc, first
}
