package cache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestRefreshAheadUnderSteadyLoad: 4 readers read one key steadily
// through 4 TTLs; with XFetch the key is reloaded in the background before
// it expires, so after the first load no reader ever misses (no load runs
// in a reader's call) and every reader gets the newest value or the one
// before.
func TestRefreshAheadUnderSteadyLoad(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	const ttl = time.Second
	c := newCache[int64](t, rdb, cache.WithTTL(ttl), cache.WithRefreshAhead(10))
	var version atomic.Int64
	load := func(context.Context) (int64, error) {
		time.Sleep(20 * time.Millisecond) // Δ: a slow query
		return version.Add(1), nil
	}
	ctx := context.Background()
	if _, err := c.GetOrLoad(ctx, "hot", load); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(4 * ttl)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				v, err := c.GetOrLoad(ctx, "hot", load)
				if err != nil {
					t.Error(err)
					return
				}
				if now := version.Load(); v < now-1 {
					t.Errorf("read version %d while %d was loaded", v, now)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	s := c.Stats()
	if s.Refreshes < 3 {
		t.Fatalf("stats %+v: want a refresh per TTL (>= 3)", s)
	}
	if inCall := s.Loads - s.Refreshes; inCall != 1 {
		t.Fatalf("stats %+v: %d loads ran in a reader's call, want only the first", s, inCall)
	}
}

// TestNoRefreshAheadByDefault: without WithRefreshAhead, an entry is
// reloaded only once it is gone.
func TestNoRefreshAheadByDefault(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	c := newCache[int](t, rdb, cache.WithTTL(200*time.Millisecond))
	ctx := context.Background()
	var loads atomic.Int32
	load := func(context.Context) (int, error) { time.Sleep(20 * time.Millisecond); return int(loads.Add(1)), nil }
	if _, err := c.GetOrLoad(ctx, "k", load); err != nil {
		t.Fatal(err)
	}
	testserver.WaitFor(t, patience, "the entry to expire and be loaded again", func() bool {
		_, _ = c.GetOrLoad(ctx, "k", load)
		return loads.Load() == 2
	})
	if s := c.Stats(); s.Refreshes != 0 {
		t.Fatalf("stats %+v: refreshed without WithRefreshAhead", s)
	}
}
