package cache_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// midRead is a go-redis hook that, once armed, runs during the first
// pipeline reading a key ending in suffix — after Redis answered, before
// the cache goes on — so that a test can put a write between a read and
// its L1 fill.
type midRead struct {
	suffix string
	armed  atomic.Bool
	during func(ctx context.Context)
}

func (h *midRead) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *midRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}

func (h *midRead) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			args := cmd.Args()
			if cmd.Name() == "get" && len(args) == 2 && strings.HasSuffix(args[1].(string), h.suffix) && h.armed.CompareAndSwap(true, false) {
				h.during(ctx)
				break
			}
		}
		return err
	}
}

// TestWritesElsewhereDoNotStopFills: a write of another key, here or on
// another instance, while a read of key is in flight does not keep key
// out of L1 (one epoch for the whole cache did: under writes the L1 hit
// rate collapsed).
func TestWritesElsewhereDoNotStopFills(t *testing.T) {
	addr := testserver.StartRedis(t, nil).Addr
	rdb := rclient(t, addr)
	hook := &midRead{suffix: ":reader"}
	rdb.AddHook(hook)
	ctx := context.Background()
	c, other := newCache[string](t, rdb), newCache[string](t, rclient(t, addr))
	if err := other.Set(ctx, "reader", "v"); err != nil {
		t.Fatal(err)
	}
	if err := other.Set(ctx, "warm", "v"); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, c, "warm")
	hook.during = func(ctx context.Context) {
		if err := c.Set(ctx, "mine", "x"); err != nil {
			t.Error(err)
		}
		before := c.Stats().Invalidations
		if err := other.Set(ctx, "theirs", "x"); err != nil {
			t.Error(err)
		}
		testserver.WaitFor(t, patience, "the other instance's invalidation", func() bool { return c.Stats().Invalidations > before })
	}
	hook.armed.Store(true)
	if v, err := c.Get(ctx, "reader"); err != nil || v != "v" {
		t.Fatalf("Get: %q %v", v, err)
	}
	if hook.armed.Load() {
		t.Fatal("the hook never ran")
	}
	before := c.Stats().L1Hits
	if v, err := c.Get(ctx, "reader"); err != nil || v != "v" {
		t.Fatalf("Get: %q %v", v, err)
	}
	if c.Stats().L1Hits != before+1 {
		t.Fatal("writes of other keys during a read kept the key out of L1")
	}
}

// TestHalfOpenInvalidationChannel: b's subscription connection goes
// half-open (no error, no bytes); a's write of k never reaches b. Once the
// unanswered ping shows it, b stops serving its local copy and reads
// Redis; when a working subscription is back, L1 serves again.
func TestHalfOpenInvalidationChannel(t *testing.T) {
	addr := testserver.StartRedis(t, nil).Addr
	p := startProxy(t, addr)
	ctx := context.Background()
	a := newCache[int](t, rclient(t, addr))
	b := newCache[int](t, rclient(t, p.addr), cache.WithLocal(100, time.Hour), cache.WithInvalidationPing(50*time.Millisecond))
	if err := a.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b, "k") // b holds k=1 in L1

	p.stall.Store(true)
	if err := a.Set(ctx, "k", 2); err != nil {
		t.Fatal(err)
	}
	seenNew := false
	testserver.WaitFor(t, patience, "b to stop serving its stale copy", func() bool {
		v, err := b.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if seenNew && v != 2 {
			t.Fatalf("b served %d after having served 2", v)
		}
		seenNew = v == 2
		return seenNew
	})
	hits := b.Stats().L1Hits
	for range 20 {
		if v, err := b.Get(ctx, "k"); err != nil || v != 2 {
			t.Fatalf("b while its channel is dead: %d %v", v, err)
		}
	}
	if b.Stats().L1Hits != hits {
		t.Fatal("b served from L1 while its invalidation channel was dead")
	}

	p.stall.Store(false)
	testserver.WaitFor(t, patience, "b to serve from L1 again", func() bool {
		before := b.Stats().L1Hits
		v, err := b.Get(ctx, "k")
		if err != nil || v != 2 {
			t.Fatalf("b: %d %v", v, err)
		}
		_, _ = b.Get(ctx, "k")
		return b.Stats().L1Hits > before
	})
	if err := a.Set(ctx, "k", 3); err != nil {
		t.Fatal(err)
	}
	testserver.WaitFor(t, patience, "the next invalidation to reach b", func() bool {
		v, _ := b.Get(ctx, "k")
		return v == 3
	})
}
