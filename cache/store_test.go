package cache_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// recordingStore keeps what it saved and every batch it was given, and
// fails while failing is set.
type recordingStore struct {
	mu      sync.Mutex
	saved   map[string]int
	batches []map[string]int
	failing bool
}

func (s *recordingStore) Save(_ context.Context, batch map[string]int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errors.New("store down")
	}
	if s.saved == nil {
		s.saved = map[string]int{}
	}
	maps.Copy(s.saved, batch)
	s.batches = append(s.batches, maps.Clone(batch))
	return nil
}

func (s *recordingStore) snapshot() (map[string]int, []map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.saved), append([]map[string]int(nil), s.batches...)
}

// load is a loader reading the store: ErrNotFound for a key it lacks.
func (s *recordingStore) load(key string) func(context.Context) (int, error) {
	return loadFrom(&s.mu, &s.saved, key)
}

func (s *recordingStore) setFailing(f bool) {
	s.mu.Lock()
	s.failing = f
	s.mu.Unlock()
}

func TestWriteThrough(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	store := &recordingStore{}
	c := newCache[int](t, rdb, cache.WithStore[int](store))
	if err := c.Set(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if saved, _ := store.snapshot(); saved["a"] != 1 {
		t.Fatalf("store has %v", saved)
	}
	store.setFailing(true)
	if err := c.Set(ctx, "a", 2); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Fatalf("Set with the store failing: %v", err)
	}
	// A failed save may still have reached the store (a timeout after
	// the commit): the key is left uncached, and the next load reads the
	// store, which holds 1.
	other := newCache[int](t, rdb)
	for _, x := range []*cache.Cache[int]{c, other} {
		if v, err := x.Get(ctx, "a"); !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("after a failed save the cache holds %d %v, want a miss", v, err)
		}
	}
	if v, err := other.GetOrLoad(ctx, "a", store.load("a")); err != nil || v != 1 {
		t.Fatalf("GetOrLoad after a failed save: %d %v, want 1 from the store", v, err)
	}
	if _, err := cache.New[int](rdb, cache.WithStore[string](cache.StoreFunc[string](nil))); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("a Store[string] for a Cache[int]: %v", err)
	}
}

// TestWriteBehindCoalescesAndFlushesOnClose: 100 writes to each of 5 keys
// reach the store as one batch of the 5 last values, saved by Close.
func TestWriteBehindCoalescesAndFlushesOnClose(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	store := &recordingStore{}
	c, err := cache.New[int](rdb, cache.WithWriteBehind[int](store, 1000, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		for k := range 5 {
			if err := c.Set(ctx, fmt.Sprint("k", k), i*10+k); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v, err := c.Get(ctx, "k3"); err != nil || v != 993 {
		t.Fatalf("cache before the flush: %d %v", v, err)
	}
	if n := c.Stats().PendingWrites; n != 5 {
		t.Fatalf("PendingWrites %d, want 5", n)
	}
	if saved, _ := store.snapshot(); len(saved) != 0 {
		t.Fatalf("saved before the interval or a full batch: %v", saved)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	saved, batches := store.snapshot()
	want := map[string]int{"k0": 990, "k1": 991, "k2": 992, "k3": 993, "k4": 994}
	if !maps.Equal(saved, want) || len(batches) != 1 {
		t.Fatalf("saved %v in %d batches, want %v in 1", saved, len(batches), want)
	}
	if err := c.Set(ctx, "k0", 1); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
}

// TestWriteBehindBatchesAndRetries: a full batch is saved without waiting
// for the interval; while the store fails, writes wait (and coalesce),
// and once it is back every key's last value is saved.
func TestWriteBehindBatchesAndRetries(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	store := &recordingStore{}
	c := newCache[int](t, rdb, cache.WithWriteBehind[int](store, 10, time.Hour))
	for k := range 10 {
		if err := c.Set(ctx, fmt.Sprint("k", k), k); err != nil {
			t.Fatal(err)
		}
	}
	testserver.WaitFor(t, patience, "the full batch to be saved", func() bool {
		saved, _ := store.snapshot()
		return len(saved) == 10
	})
	testserver.WaitFor(t, patience, "PendingWrites to drop to 0", func() bool { return c.Stats().PendingWrites == 0 })

	store.setFailing(true)
	for round := range 3 {
		for k := range 25 {
			if err := c.Set(ctx, fmt.Sprint("k", k), 100*round+k); err != nil {
				t.Fatal(err)
			}
		}
	}
	testserver.WaitFor(t, patience, "failed saves", func() bool { return c.Stats().SaveErrors >= 2 })
	if n := c.Stats().PendingWrites; n != 25 {
		t.Fatalf("PendingWrites %d while the store fails, want 25", n)
	}
	store.setFailing(false)
	testserver.WaitFor(t, patience, "the waiting writes to be saved", func() bool { return c.Stats().PendingWrites == 0 })
	saved, batches := store.snapshot()
	for k := range 25 {
		if v := saved[fmt.Sprint("k", k)]; v != 200+k {
			t.Fatalf("k%d saved as %d, want %d", k, v, 200+k)
		}
	}
	for _, b := range batches {
		if len(b) > 10 {
			t.Fatalf("a batch of %d keys, want at most 10", len(b))
		}
	}
}

// TestShutdownReportsUnsaved: with the store down, Shutdown gives up when
// its ctx ends and says how many writes are lost.
func TestShutdownReportsUnsaved(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	store := &recordingStore{failing: true}
	c, err := cache.New[int](rdb, cache.WithWriteBehind[int](store, 100, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		if err := c.Set(context.Background(), fmt.Sprint("k", k), k); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = c.Shutdown(ctx)
	if !errors.Is(err, cache.ErrUnsaved) || !strings.Contains(err.Error(), "3 write-behind writes") {
		t.Fatalf("Shutdown with the store down: %v", err)
	}
}

// loadFrom is a loader reading key from a test store's saved values (a
// pointer: a store may make its map on the first Save), guarded by mu:
// ErrNotFound for a key it lacks.
func loadFrom(mu *sync.Mutex, saved *map[string]int, key string) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := (*saved)[key]
		if !ok {
			return 0, cache.ErrNotFound
		}
		return v, nil
	}
}
