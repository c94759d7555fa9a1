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

// viaNames names resolve's via values (resolve.go) as the via attribute
// of greyroute.picks whose outcome is ok; a gated pick (a pin or rollout
// passed over for the tenant's schema) is served by stable. Fallback
// picks carry via "fallback"; errors no via.
var viaNames = [numVia]string{viaStable: "stable", viaPin: "pin", viaRollout: "rollout", viaGated: "stable"}

// routerTelemetry is a Router's instruments; the hot path only bumps
// atomics, read at collection time.
type routerTelemetry struct {
	picks    [numPickOutcomes]atomic.Int64
	stale    atomic.Int32 // 1 while Redis is unreachable
	syncedAt atomic.Int64 // Unix ns of the last full resync, by the Router's clock
	reg      metric.Registration

	// okVia counts ok picks by how the version was chosen (picks[pickOK]
	// is unused: ok is their sum).
	okVia [numVia]atomic.Int64

	// registryErrors counts failed Registry.Instances calls
	// (registry_health.go).
	registryErrors atomic.Int64
}

func newRouterTelemetry(r *Router) *routerTelemetry {
	t := &routerTelemetry{}
	meter := r.cfg.meter.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	picks, _ := meter.Int64ObservableCounter("greyroute.picks",
		metric.WithDescription("Router picks by outcome (ok, fallback, error) and, unless an error, via (pin, rollout, stable, fallback)."))
	stale, _ := meter.Int64ObservableGauge("greyroute.table.stale",
		metric.WithDescription("1 while the Router cannot reach Redis and serves its last table, else 0."))
	age, _ := meter.Int64ObservableGauge("greyroute.table.age", metric.WithUnit("ms"),
		metric.WithDescription("Milliseconds since the Router's last full resync of its table."))
	regErrors, _ := meter.Int64ObservableCounter("greyroute.registry.errors",
		metric.WithDescription("Failed Registry.Instances calls (an error, a panic or a timeout); each keeps its service's last instances."))
	// Attribute sets built once: collection reads atomics and these.
	outcome := func(o int, via string) metric.ObserveOption {
		kv := []attribute.KeyValue{attribute.String("outcome", pickOutcomeNames[o])}
		if via != "" {
			kv = append(kv, attribute.String("via", via))
		}
		return metric.WithAttributeSet(attribute.NewSet(kv...))
	}
	var viaOpts [numVia]metric.ObserveOption
	for i := range viaOpts {
		viaOpts[i] = outcome(pickOK, viaNames[i])
	}
	fallbackOpt, errorOpt := outcome(pickFallback, "fallback"), outcome(pickError, "")
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		// viaGated and viaStable share a name: observe their sum once.
		ob.ObserveInt64(picks, t.okVia[viaStable].Load()+t.okVia[viaGated].Load(), viaOpts[viaStable])
		ob.ObserveInt64(picks, t.okVia[viaPin].Load(), viaOpts[viaPin])
		ob.ObserveInt64(picks, t.okVia[viaRollout].Load(), viaOpts[viaRollout])
		ob.ObserveInt64(picks, t.picks[pickFallback].Load(), fallbackOpt)
		ob.ObserveInt64(picks, t.picks[pickError].Load(), errorOpt)
		ob.ObserveInt64(stale, int64(t.stale.Load()))
		ob.ObserveInt64(regErrors, t.registryErrors.Load())
		if at := t.syncedAt.Load(); at != 0 {
			ob.ObserveInt64(age, r.cfg.clock().Sub(time.Unix(0, at)).Milliseconds())
		}
		return nil
	}, picks, stale, age, regErrors)
	return t
}

func (t *routerTelemetry) synced(now time.Time) { t.syncedAt.Store(now.UnixNano()) }

func (t *routerTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
