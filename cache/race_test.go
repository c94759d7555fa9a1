package cache_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// Races between a load and a write, driven by a loader that blocks until
// the test has made the write: the value the load read before the write
// must not be cached after it.

// gate is a loader that reports it has started, then returns v once
// released (its ctx is ignored on purpose: a slow database).
type gate[V any] struct {
	started, release chan struct{}
	v                V
}

func newGate[V any](v V) *gate[V] {
	return &gate[V]{started: make(chan struct{}), release: make(chan struct{}), v: v}
}

func (g *gate[V]) load(context.Context) (V, error) {
	close(g.started)
	<-g.release
	return g.v, nil
}

// loadAround runs GetOrLoad of key through g, makes the write while the
// loader is blocked, then lets the loader return, and checks the caller
// got what the loader read.
func loadAround[V comparable](t *testing.T, c *cache.Cache[V], key string, g *gate[V], write func(), opts ...cache.LoadOption) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		v, err := c.GetOrLoad(context.Background(), key, g.load, opts...)
		if err == nil && v != g.v {
			err = errors.New("the caller did not get what its load read")
		}
		got <- err
	}()
	<-g.started
	write()
	close(g.release)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestLoadLosesToConcurrentWrite: a load that read "old" before a Delete,
// a Set (on this instance or another) or an InvalidateTags of its tag
// does not cache "old" after it; on standalone and on a Cluster.
func TestLoadLosesToConcurrentWrite(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		testLoadLosesToConcurrentWrite(t, rclient(t, testserver.StartRedis(t, nil).Addr))
	})
	t.Run("cluster", func(t *testing.T) {
		rc := testserver.StartRedisCluster(t)
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		testLoadLosesToConcurrentWrite(t, c)
	})
}

func testLoadLosesToConcurrentWrite(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	c, other := newCache[string](t, rdb), newCache[string](t, rdb)
	l2only := newCache[string](t, rdb, cache.WithLocal(0, 0))
	wantMiss := func(key, after string) {
		t.Helper()
		for _, x := range []*cache.Cache[string]{c, l2only} {
			if v, err := x.Get(ctx, key); !errors.Is(err, cache.ErrMiss) {
				t.Fatalf("%s: a load that read before %s cached %q (%v); want a miss", key, after, v, err)
			}
		}
	}
	wantValue := func(key, want, after string) {
		t.Helper()
		for _, x := range []*cache.Cache[string]{c, l2only} {
			if v, err := x.Get(ctx, key); err != nil || v != want {
				t.Fatalf("%s: after a load that read before %s: %q %v, want %q", key, after, v, err, want)
			}
		}
	}

	loadAround(t, c, "deleted", newGate("old"), func() {
		if err := c.Delete(ctx, "deleted"); err != nil {
			t.Fatal(err)
		}
	})
	wantMiss("deleted", "a Delete")

	loadAround(t, c, "set-here", newGate("old"), func() {
		if err := c.Set(ctx, "set-here", "new"); err != nil {
			t.Fatal(err)
		}
	})
	wantValue("set-here", "new", "a Set")

	loadAround(t, c, "set-there", newGate("old"), func() {
		if err := other.Set(ctx, "set-there", "new"); err != nil {
			t.Fatal(err)
		}
	})
	wantValue("set-there", "new", "another instance's Set")

	loadAround(t, c, "tagged", newGate("old"), func() {
		if err := other.InvalidateTags(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}, cache.LoadTags("t"))
	wantMiss("tagged", "InvalidateTags of its tag")
	testserver.WaitFor(t, patience, "the tag's announcement", func() bool { return c.Stats().Invalidations > 0 })
	wantMiss("tagged", "InvalidateTags of its tag")

	// And the ordinary case still caches: no write, the load fills.
	loadAround(t, c, "quiet", newGate("loaded"), func() {})
	wantValue("quiet", "loaded", "nothing")
}

// TestLocalOnlyLoadLosesToSet: without Redis too, a load that read before
// a Set does not replace the Set's value in L1.
func TestLocalOnlyLoadLosesToSet(t *testing.T) {
	ctx := context.Background()
	c := newCache[string](t, nil, cache.WithLocal(100, time.Minute))
	loadAround(t, c, "k", newGate("old"), func() {
		if err := c.Set(ctx, "k", "new"); err != nil {
			t.Fatal(err)
		}
	})
	if v, err := c.Get(ctx, "k"); err != nil || v != "new" {
		t.Fatalf("after a load that read before a Set: %q %v, want \"new\"", v, err)
	}
}

// TestRefreshLosesToConcurrentSet: a refresh ahead that read before a Set
// does not overwrite the Set's value.
func TestRefreshLosesToConcurrentSet(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	c := newCache[string](t, rdb, cache.WithRefreshAhead(1))
	l2only := newCache[string](t, rdb, cache.WithLocal(0, 0))
	if _, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "v1", nil }); err != nil {
		t.Fatal(err)
	}
	cache.ForceRefreshAhead(c)
	g := newGate("read before the Set")
	if v, err := c.GetOrLoad(ctx, "k", g.load); err != nil || v != "v1" {
		t.Fatalf("hit: %q %v", v, err)
	}
	<-g.started // the refresh runs
	if err := l2only.Set(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	testserver.WaitFor(t, patience, "the refresh to end", func() bool { return !cache.Refreshing(c) })
	if c.Stats().Refreshes != 1 {
		t.Fatalf("stats %+v: want one refresh", c.Stats())
	}
	if v, err := l2only.Get(ctx, "k"); err != nil || v != "v2" {
		t.Fatalf("after a refresh that read before a Set: %q %v, want \"v2\"", v, err)
	}
}

// gatedStore is a store whose saves can be held up on cue: a value in
// holdFirst waits for its gate before it is committed, one in hold after
// (a slow acknowledgement); after, if set, runs once a value is
// committed.
type gatedStore struct {
	mu              sync.Mutex
	saved           map[string]int
	hold, holdFirst map[int]*gate[struct{}]
	after           func(v int)
	failing         bool
}

func (s *gatedStore) Save(_ context.Context, batch map[string]int) error {
	s.mu.Lock()
	if s.failing {
		s.mu.Unlock()
		return errors.New("store down")
	}
	var first, then *gate[struct{}]
	for _, v := range batch {
		first, then = s.holdFirst[v], s.hold[v]
	}
	s.mu.Unlock()
	if first != nil {
		_, _ = first.load(context.Background())
	}
	s.mu.Lock()
	maps.Copy(s.saved, batch)
	after := s.after
	s.mu.Unlock()
	if after != nil {
		for _, v := range batch {
			after(v)
		}
	}
	if then != nil {
		_, _ = then.load(context.Background())
	}
	return nil
}

func (s *gatedStore) load(key string) func(context.Context) (int, error) {
	return loadFrom(&s.mu, &s.saved, key)
}

// TestWriteThroughConcurrentSets: two Sets of one key overlap; the store
// takes 1 then 2, the cache would see them the other way round. The
// cache must not keep 1 while the store holds 2.
func TestWriteThroughConcurrentSets(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	g := newGate(struct{}{})
	store := &gatedStore{saved: map[string]int{}, hold: map[int]*gate[struct{}]{1: g}}
	c := newCache[int](t, rdb, cache.WithStore[int](store))
	l2only := newCache[int](t, rdb, cache.WithLocal(0, 0))
	first := make(chan error, 1)
	go func() { first <- c.Set(ctx, "a", 1) }()
	<-g.started // 1 is in the store, its Set not done
	if err := c.Set(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if v, _ := store.load("a")(ctx); v != 2 {
		t.Fatalf("store holds %d, want 2", v)
	}
	for _, x := range []*cache.Cache[int]{c, l2only} {
		if v, err := x.Get(ctx, "a"); err == nil && v != 2 {
			t.Fatalf("the cache holds %d while the store holds 2", v)
		}
	}
	if v, err := l2only.GetOrLoad(ctx, "a", store.load("a")); err != nil || v != 2 {
		t.Fatalf("GetOrLoad: %d %v, want 2", v, err)
	}
	// Sets that do not overlap are cached as ever.
	if err := c.Set(ctx, "a", 3); err != nil {
		t.Fatal(err)
	}
	if v, err := l2only.Get(ctx, "a"); err != nil || v != 3 {
		t.Fatalf("after a lone Set: %d %v, want 3", v, err)
	}
}

// TestWriteThroughCacheFailsAfterSave: the store takes 2, then Redis goes
// away before the cache does: once Redis is back it must not serve 1.
func TestWriteThroughCacheFailsAfterSave(t *testing.T) {
	r := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true})
	rdb := rclient(t, r.Addr)
	ctx := context.Background()
	store := &gatedStore{saved: map[string]int{}}
	c := newCache[int](t, rdb, cache.WithStore[int](store))
	if err := c.Set(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.after = func(v int) {
		if v == 2 {
			r.Stop() // clean: what Redis took so far is in the AOF
		}
	}
	store.mu.Unlock()
	if err := c.Set(ctx, "a", 2); err == nil {
		t.Fatal("Set succeeded with Redis stopped before caching")
	}
	r.Restart(t)
	fresh := newCache[int](t, rclient(t, r.Addr), cache.WithLocal(0, 0))
	var v int
	var err error
	testserver.WaitFor(t, patience, "Redis to answer again", func() bool {
		v, err = fresh.Get(ctx, "a")
		return err == nil || errors.Is(err, cache.ErrMiss)
	})
	if err == nil && v != 2 {
		t.Fatalf("the cache serves %d; the store holds 2", v)
	}
	if v, err := fresh.GetOrLoad(ctx, "a", store.load("a")); err != nil || v != 2 {
		t.Fatalf("GetOrLoad: %d %v, want 2", v, err)
	}
}

// TestWriteBehindServesPendingWrites: with the store behind (failing, or
// slow to save), GetOrLoad of a key whose entry left Redis serves the
// write still waiting for the store, not the store's older value.
func TestWriteBehindServesPendingWrites(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()

	store := &gatedStore{saved: map[string]int{"a": 1}, failing: true}
	c := newCache[int](t, rdb, cache.WithWriteBehind[int](store, 100, time.Hour))
	defer func() { // let Close save it
		store.mu.Lock()
		store.failing = false
		store.mu.Unlock()
	}()
	if err := c.Set(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "a"); err != nil { // or evicted, or expired
		t.Fatal(err)
	}
	if v, err := c.GetOrLoad(ctx, "a", store.load("a")); err != nil || v != 2 {
		t.Fatalf("GetOrLoad with 2 waiting for the store: %d %v, want 2", v, err)
	}

	// The same while the batch holding it is being saved.
	g := newGate(struct{}{})
	defer close(g.release)
	slow := &gatedStore{saved: map[string]int{"b": 1}, holdFirst: map[int]*gate[struct{}]{2: g}}
	d := newCache[int](t, rdb, cache.WithWriteBehind[int](slow, 1, time.Hour), cache.WithPrefix("slow:"))
	if err := d.Set(ctx, "b", 2); err != nil { // a full batch: saved at once
		t.Fatal(err)
	}
	<-g.started
	if err := d.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if v, err := d.GetOrLoad(ctx, "b", slow.load("b")); err != nil || v != 2 {
		t.Fatalf("GetOrLoad with 2 being saved: %d %v, want 2", v, err)
	}
}
