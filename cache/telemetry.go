package cache

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/cache"

// telemetry exports a Cache's counters as OpenTelemetry instruments. The
// read paths only bump the atomics in counters; observable instruments
// read them at collection time, so metrics cost nothing per lookup when
// no SDK is installed. Only a load records synchronously (its duration),
// and a load is never a hot path.
type telemetry struct {
	reg      metric.Registration
	duration metric.Float64Histogram
	// outcome attributes of the duration, made once.
	ok, notFound, failed metric.RecordOption
}

func newTelemetry[V any](c *Cache[V]) *telemetry {
	name := attribute.String("cache.prefix", c.o.prefix)
	set := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(kv, name)...))
	}
	outcome := func(o string) metric.MeasurementOption { return set(attribute.String("outcome", o)) }
	lookup := func(layer, result string) metric.MeasurementOption {
		return set(attribute.String("cache.layer", layer), attribute.String("cache.result", result))
	}
	l1Hit, l1Miss, l2Hit, l2Miss := lookup("l1", "hit"), lookup("l1", "miss"), lookup("l2", "hit"), lookup("l2", "miss")
	loadOK, loadNotFound, loadErr := outcome("ok"), outcome("not_found"), outcome("error")
	saveOK, saveErr := outcome("ok"), outcome("error")
	plain := set()

	t := &telemetry{ok: loadOK, notFound: loadNotFound, failed: loadErr}
	meter := c.o.meter.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	lookups, _ := meter.Int64ObservableCounter("cache.lookups",
		metric.WithDescription("Lookups by layer (l1: the local layers, l2: Redis) and result; an l1 miss goes on to l2."))
	loads, _ := meter.Int64ObservableCounter("cache.loads", metric.WithDescription("Loader runs by outcome."))
	refreshes, _ := meter.Int64ObservableCounter("cache.refreshes", metric.WithDescription("Loads started ahead of expiry (refresh-ahead)."))
	refused, _ := meter.Int64ObservableCounter("cache.fills.refused",
		metric.WithDescription("Loaded values not cached because a write of the key came first."))
	invalidations, _ := meter.Int64ObservableCounter("cache.invalidations",
		metric.WithDescription("Invalidations received from other instances and acted on."))
	evictions, _ := meter.Int64ObservableCounter("cache.evictions", metric.WithDescription("L1 entries pushed out by newer ones."))
	live, _ := meter.Int64ObservableGauge("cache.invalidation.live",
		metric.WithDescription("1 while the invalidation channel is known to be live (the local layers serve), else 0."))
	pending, _ := meter.Int64ObservableGauge("cache.write_behind.pending",
		metric.WithDescription("Keys whose last write-behind write is not saved yet."))
	saves, _ := meter.Int64ObservableCounter("cache.write_behind.saves", metric.WithDescription("Write-behind batches saved, by outcome."))
	t.duration, _ = meter.Float64Histogram("cache.load.duration", metric.WithUnit("s"),
		metric.WithDescription("How long loader runs took, by outcome."))

	s := &c.stats
	instruments := []metric.Observable{lookups, loads, refreshes, refused, invalidations, evictions, live}
	if c.behind != nil {
		instruments = append(instruments, pending, saves)
	}
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(lookups, s.l1Hits.Load(), l1Hit)
		ob.ObserveInt64(lookups, s.l1Misses.Load(), l1Miss)
		ob.ObserveInt64(lookups, s.l2Hits.Load(), l2Hit)
		ob.ObserveInt64(lookups, s.l2Misses.Load(), l2Miss)
		errs, notFound := s.loadErrors.Load(), s.loadsNotFound.Load()
		ob.ObserveInt64(loads, s.loads.Load()-errs-notFound, loadOK)
		ob.ObserveInt64(loads, notFound, loadNotFound)
		ob.ObserveInt64(loads, errs, loadErr)
		ob.ObserveInt64(refreshes, s.refreshes.Load(), plain)
		ob.ObserveInt64(refused, s.fillsRefused.Load(), plain)
		ob.ObserveInt64(invalidations, s.invalidations.Load(), plain)
		ob.ObserveInt64(evictions, s.evictions.Load(), plain)
		up := int64(0)
		if c.healthy.Load() {
			up = 1
		}
		ob.ObserveInt64(live, up, plain)
		if c.behind != nil {
			ob.ObserveInt64(pending, int64(c.behind.waiting()), plain)
			ob.ObserveInt64(saves, c.behind.saves.Load(), saveOK)
			ob.ObserveInt64(saves, c.behind.saveErrors.Load(), saveErr)
		}
		return nil
	}, instruments...)
	return t
}

// loaded records one loader run.
func (t *telemetry) loaded(ctx context.Context, took time.Duration, err error) {
	o := t.ok
	switch {
	case errors.Is(err, ErrNotFound):
		o = t.notFound
	case err != nil:
		o = t.failed
	}
	t.duration.Record(ctx, took.Seconds(), o)
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
