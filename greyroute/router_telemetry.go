package greyroute

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Pick outcomes, as the outcome attribute of greyroute.picks names them.
const (
	pickOK       = iota // the tenant's version
	pickFallback        // the fallback version
	pickError           // no instance, unknown tenant, schema
	numPickOutcomes
)

var pickOutcomeNames = [numPickOutcomes]string{"ok", "fallback", "error"}

// routerTelemetry is a Router's instruments; the hot path only bumps
// atomics, read at collection time.
type routerTelemetry struct {
	picks    [numPickOutcomes]atomic.Int64
	stale    atomic.Int32 // 1 while Redis is unreachable
	syncedAt atomic.Int64 // Unix ns of the last full resync, by the Router's clock
	reg      metric.Registration
}

func newRouterTelemetry(r *Router) *routerTelemetry {
	t := &routerTelemetry{}
	meter := r.cfg.meter.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	picks, _ := meter.Int64ObservableCounter("greyroute.picks",
		metric.WithDescription("Router picks by outcome (ok, fallback, error)."))
	stale, _ := meter.Int64ObservableGauge("greyroute.table.stale",
		metric.WithDescription("1 while the Router cannot reach Redis and serves its last table, else 0."))
	age, _ := meter.Int64ObservableGauge("greyroute.table.age", metric.WithUnit("ms"),
		metric.WithDescription("Milliseconds since the Router's last full resync of its table."))
	var opts [numPickOutcomes]metric.ObserveOption
	for i := range opts {
		opts[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", pickOutcomeNames[i])))
	}
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for i := range opts {
			ob.ObserveInt64(picks, t.picks[i].Load(), opts[i])
		}
		ob.ObserveInt64(stale, int64(t.stale.Load()))
		if at := t.syncedAt.Load(); at != 0 {
			ob.ObserveInt64(age, r.cfg.clock().Sub(time.Unix(0, at)).Milliseconds())
		}
		return nil
	}, picks, stale, age)
	return t
}

func (t *routerTelemetry) synced(now time.Time) { t.syncedAt.Store(now.UnixNano()) }

func (t *routerTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
