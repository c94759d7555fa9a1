package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestTelemetry checks, with the real OpenTelemetry SDK, that lookups by
// layer, loads by outcome with their durations, invalidations, the
// channel's liveness and the write-behind backlog are exported.
func TestTelemetry(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	store := &recordingStore{failing: true}
	c := newCache[int](t, rdb, cache.WithMeterProvider(mp), cache.WithWriteBehind[int](store, 100, time.Hour))
	defer store.setFailing(false) // let Close save
	other := newCache[int](t, rdb)

	if err := c.Set(ctx, "a", 1); err != nil { // queued: the store fails
		t.Fatal(err)
	}
	waitSubscribed(t, c, "a") // l1 and l2 lookups of a
	if _, err := c.Get(ctx, "none"); !errors.Is(err, cache.ErrMiss) {
		t.Fatal(err)
	}
	if _, err := c.GetOrLoad(ctx, "b", func(context.Context) (int, error) { return 2, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOrLoad(ctx, "gone", func(context.Context) (int, error) { return 0, cache.ErrNotFound }); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := c.GetOrLoad(ctx, "bad", func(context.Context) (int, error) { return 0, errors.New("db down") }); err == nil {
		t.Fatal("a failed load succeeded")
	}
	loadAround(t, c, "raced", newGate(5), func() { // a write wins over a load
		if err := c.Delete(ctx, "raced"); err != nil {
			t.Fatal(err)
		}
	})
	if err := other.Set(ctx, "b", 3); err != nil {
		t.Fatal(err)
	}
	testserver.WaitFor(t, patience, "the invalidation", func() bool { return c.Stats().Invalidations == 1 })
	// The invalidation dropped b from c's L1: an L2 hit, whether or not
	// the lookups of a above reached Redis (they do only while the
	// invalidation channel is not yet confirmed).
	if v, err := c.Get(ctx, "b"); err != nil || v != 3 {
		t.Fatalf("Get(b) = %v, %v; want 3 from Redis", v, err)
	}

	got := collect(t, reader)
	s := c.Stats()
	want := map[string]int64{
		"cache.lookups/l1/hit": s.L1Hits, "cache.lookups/l1/miss": s.L1Misses,
		"cache.lookups/l2/hit": s.L2Hits, "cache.lookups/l2/miss": s.L2Misses,
		"cache.loads/ok": 2, "cache.loads/not_found": 1, "cache.loads/error": 1, "cache.fills.refused": 1,
		"cache.load.duration/ok": 2, "cache.load.duration/not_found": 1, "cache.load.duration/error": 1,
		"cache.invalidations": 1, "cache.invalidation.live": 1, "cache.write_behind.pending": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if s.L1Hits == 0 || s.L2Hits == 0 || s.L2Misses == 0 {
		t.Fatalf("stats %+v: want hits and misses on both layers", s)
	}
}

// collect reads every data point as "name[/layer/result][/outcome]" ->
// value (a histogram's count), checking each carries the cache's prefix.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, p := range otelcheck.Points(t, reader) {
		if p.Attr("cache.prefix") != "cache:" {
			t.Errorf("%s: no cache.prefix attribute", p.Metric)
		}
		name := p.Metric
		for _, k := range []string{"cache.layer", "cache.result", "outcome"} {
			if a := p.Attr(k); a != "" {
				name += "/" + a
			}
		}
		out[name] = p.Value
	}
	return out
}
