package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const patience = 2 * time.Minute

func rclient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

func newCache[V any](t *testing.T, rdb redis.UniversalClient, opts ...cache.Option) *cache.Cache[V] {
	t.Helper()
	c, err := cache.New[V](rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type user struct {
	Name string
	Age  int
}

// waitSubscribed waits until c fills L1, i.e. its invalidation
// subscription is live: observed as an L1 hit after a Get.
func waitSubscribed[V any](t *testing.T, c *cache.Cache[V], key string) {
	t.Helper()
	testserver.WaitFor(t, patience, "the invalidation subscription", func() bool {
		before := c.Stats().L1Hits
		_, _ = c.Get(context.Background(), key)
		_, _ = c.Get(context.Background(), key)
		return c.Stats().L1Hits > before
	})
}

func TestGetSetDelete(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	c := newCache[user](t, rdb)
	if _, err := c.Get(ctx, "u1"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get of a fresh key: %v, want ErrMiss", err)
	}
	if err := c.Set(ctx, "u1", user{"ada", 36}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "u1"); err != nil || v != (user{"ada", 36}) {
		t.Fatalf("Get: %v %v", v, err)
	}
	// Another instance reads it from Redis.
	other := newCache[user](t, rdb)
	if v, err := other.Get(ctx, "u1"); err != nil || v.Name != "ada" {
		t.Fatalf("other instance: %v %v", v, err)
	}
	if err := c.Delete(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "u1"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get after Delete: %v", err)
	}
	// []byte values pass through the codec untouched.
	raw := newCache[[]byte](t, rdb, cache.WithPrefix("raw:"))
	if err := raw.Set(ctx, "b", []byte{0, 1, 2, 255}); err != nil {
		t.Fatal(err)
	}
	// Under <prefix>k:<key>: kind, 8-byte write id, Δ, tag count, payload.
	if got, _ := rdb.Get(ctx, "raw:k:b").Bytes(); len(got) != 9+2+4 || got[0] != 'v' || string(got[9:]) != "\x00\x00\x00\x01\x02\xff" {
		t.Fatalf("stored %q", got)
	}
	if _, err := c.Get(ctx, ""); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestTTLJitter(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	c := newCache[int](t, rdb, cache.WithTTL(100*time.Second))
	lo, hi := time.Hour, time.Duration(0)
	for i := range 50 {
		k := fmt.Sprint("j", i)
		if err := c.Set(ctx, k, i); err != nil {
			t.Fatal(err)
		}
		d := rdb.PTTL(ctx, "cache:k:"+k).Val()
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 89*time.Second || hi > 110*time.Second || hi-lo < 5*time.Second {
		t.Fatalf("TTLs span %v..%v: want spread within ±10%% of 100s", lo, hi)
	}
}

// TestLoaderRunsOncePerInstance: 1,000 concurrent GetOrLoad of a cold key
// from 4 instances run the loader at most once per instance, and every
// caller gets the value.
func TestLoaderRunsOncePerInstance(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	var caches []*cache.Cache[string]
	var perInstance [4]atomic.Int32
	for range 4 {
		caches = append(caches, newCache[string](t, rdb))
	}
	release := make(chan struct{})
	loadConcurrently(t, caches, func(n int) { perInstance[n].Add(1) }, release, func() {
		time.Sleep(50 * time.Millisecond) // let the callers pile up on the loads
		close(release)
	})
	total := int32(0)
	for i := range perInstance {
		if n := perInstance[i].Load(); n > 1 {
			t.Fatalf("instance %d ran the loader %d times", i, n)
		}
		total += perInstance[i].Load()
	}
	if total == 0 {
		t.Fatal("the loader never ran")
	}
}

func TestNegativeCaching(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	c := newCache[string](t, rdb, cache.WithNegativeTTL(300*time.Millisecond))
	ctx := context.Background()
	var loads atomic.Int32
	load := func(context.Context) (string, error) {
		loads.Add(1)
		return "", cache.ErrNotFound
	}
	for range 3 {
		if _, err := c.GetOrLoad(ctx, "ghost", load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("GetOrLoad of a missing record: %v", err)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("loader ran %d times within the negative TTL", n)
	}
	testserver.WaitFor(t, patience, "the negative entry to expire", func() bool {
		_, _ = c.GetOrLoad(ctx, "ghost", load)
		return loads.Load() > 1
	})
	// A load error other than ErrNotFound is not cached.
	var fails atomic.Int32
	for range 2 {
		_, err := c.GetOrLoad(ctx, "flaky", func(context.Context) (string, error) {
			fails.Add(1)
			return "", errors.New("db down")
		})
		if err == nil || err.Error() != "db down" {
			t.Fatalf("load error: %v", err)
		}
	}
	if fails.Load() != 2 {
		t.Fatalf("a failed load was cached")
	}
}

// TestCrossInstanceInvalidation: after a write on A returns, B and C serve
// the new value once the invalidation arrives, and never the old one
// after that.
func TestCrossInstanceInvalidation(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	a, b, c := newCache[int](t, rdb), newCache[int](t, rdb), newCache[int](t, rdb)
	if err := a.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b, "k")
	waitSubscribed(t, c, "k")
	for round := 2; round <= 20; round++ {
		if err := a.Set(ctx, "k", round); err != nil {
			t.Fatal(err)
		}
		for _, x := range []*cache.Cache[int]{b, c} {
			seenNew := false
			testserver.WaitFor(t, patience, fmt.Sprint("value ", round), func() bool {
				v, err := x.Get(ctx, "k")
				if err != nil {
					t.Fatal(err)
				}
				if seenNew && v != round {
					t.Fatalf("served %d after having served %d", v, round)
				}
				seenNew = seenNew || v == round
				return seenNew
			})
			for range 20 { // and never the old one after
				if v, _ := x.Get(ctx, "k"); v != round {
					t.Fatalf("served %d after having served %d", v, round)
				}
			}
		}
	}
	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*cache.Cache[int]{b, c} {
		testserver.WaitFor(t, patience, "the Delete to reach the other instances", func() bool {
			_, err := x.Get(ctx, "k")
			return errors.Is(err, cache.ErrMiss)
		})
	}
	if b.Stats().Invalidations == 0 || b.Stats().L1Hits == 0 {
		t.Fatalf("stats %+v: want invalidations and L1 hits", b.Stats())
	}
}

// TestRedisDown: with redis-server killed, Get serves what L1 holds and
// otherwise fails (never a zero value as a hit); GetOrLoad falls back to
// the loader when asked to.
func TestRedisDown(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rclient(t, r.Addr)
	ctx := context.Background()
	c := newCache[string](t, rdb)
	fb := newCache[string](t, rdb, cache.WithFallbackToLoader())
	if err := c.Set(ctx, "warm", "in L1"); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, c, "warm")
	r.Kill()
	if v, err := c.Get(ctx, "warm"); err != nil || v != "in L1" {
		t.Fatalf("L1 with Redis down: %q %v", v, err)
	}
	if v, err := c.Get(ctx, "cold"); err == nil || errors.Is(err, cache.ErrMiss) || v != "" {
		t.Fatalf("L1 miss with Redis down: %q %v, want a connection error", v, err)
	}
	if _, err := c.GetOrLoad(ctx, "cold", func(context.Context) (string, error) { return "x", nil }); err == nil {
		t.Fatal("GetOrLoad without fallback succeeded with Redis down")
	}
	if v, err := fb.GetOrLoad(ctx, "cold", func(context.Context) (string, error) { return "from the loader", nil }); err != nil || v != "from the loader" {
		t.Fatalf("fallback: %q %v", v, err)
	}
}

func TestLocalOnly(t *testing.T) {
	c := newCache[string](t, nil, cache.WithLocal(2, time.Minute))
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if err := c.Set(ctx, k, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Get(ctx, "a"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("evicted key: %v", err)
	}
	if v, err := c.Get(ctx, "c"); err != nil || v != "c" {
		t.Fatalf("Get: %q %v", v, err)
	}
	if s := c.Stats(); s.Evictions != 1 {
		t.Fatalf("stats %+v: want 1 eviction", s)
	}
	if _, err := cache.New[string](nil, cache.WithLocal(0, 0)); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("no layer at all: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "c"); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

// TestDistributedLoadRunsOnce: with WithDistributedLoad, 1,000 concurrent
// GetOrLoad of a cold key from 4 instances run the loader exactly once.
func TestDistributedLoadRunsOnce(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	var caches []*cache.Cache[string]
	for range 4 {
		caches = append(caches, newCache[string](t, rdb, cache.WithDistributedLoad()))
	}
	var loads atomic.Int32
	release := make(chan struct{})
	loadConcurrently(t, caches, func(int) { loads.Add(1) }, release, func() {
		testserver.WaitFor(t, patience, "a load to start", func() bool { return loads.Load() > 0 })
		time.Sleep(50 * time.Millisecond) // give a second load every chance to start
		close(release)
	})
	if n := loads.Load(); n != 1 {
		t.Fatalf("the loader ran %d times across 4 instances", n)
	}
	if _, err := cache.New[string](nil, cache.WithDistributedLoad()); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("distributed load without Redis: %v", err)
	}
}

// loadConcurrently runs 1,000 GetOrLoad of key "cold" spread over caches,
// each loading "loaded" through load once release is closed, and fails t
// on any error or wrong value.
func loadConcurrently(t *testing.T, caches []*cache.Cache[string], load func(n int), release <-chan struct{}, started func()) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := i % len(caches)
			v, err := caches[n].GetOrLoad(context.Background(), "cold", func(context.Context) (string, error) {
				load(n)
				<-release
				return "loaded", nil
			})
			if err == nil && v != "loaded" {
				err = fmt.Errorf("got %q", v)
			}
			errs <- err
		}()
	}
	started()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
