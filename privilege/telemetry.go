package privilege

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/privilege"

// counter is one outcome's running total. Check only bumps atomics;
// OpenTelemetry reads them through an observable instrument at collection
// time, as in mq/telemetry.go.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

// Where a decision came from, for privilege.checks.
const (
	srcL1 = iota
	srcL2
	srcComputed
	srcFailOpen
	nSources
)

var sourceNames = [nSources]string{srcL1: "l1", srcL2: "l2", srcComputed: "computed", srcFailOpen: "failopen"}

// telemetry counts decisions by outcome and by where they came from.
type telemetry struct {
	reg         metric.Registration
	checks      [nSources][2]counter // [source][allowed]
	errors      counter
	auditPanics atomic.Int64
}

func newTelemetry(mp metric.MeterProvider, e *Engine) *telemetry {
	t := &telemetry{}
	for src := range nSources {
		for allowed, decision := range [2]string{"deny", "allow"} {
			t.checks[src][allowed].opt = metric.WithAttributeSet(attribute.NewSet(
				attribute.String("decision", decision), attribute.String("source", sourceNames[src])))
		}
	}
	t.errors.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "error"), attribute.String("source", "none")))
	meter := mp.Meter(instrumentationName)
	// Creation fails only for invalid names, and ours are fixed; the API
	// returns usable no-op instruments in any case.
	checks, _ := meter.Int64ObservableCounter("privilege.checks", metric.WithDescription("Access decisions, by decision and by source (l1, l2, computed, failopen); errors fail closed."))
	panics, _ := meter.Int64ObservableCounter("privilege.audit.panics", metric.WithDescription("Audit sink calls that panicked (recovered; the decision stood)."))
	l2errs, _ := meter.Int64ObservableCounter("privilege.l2.errors", metric.WithDescription("Redis calls that failed or timed out (the check fell through to the store)."))
	failOpen, _ := meter.Int64ObservableCounter("privilege.failopen", metric.WithDescription("Checks answered with a last known decision while the store was unreachable (WithFailOpen)."))
	rereads, _ := meter.Int64ObservableCounter("privilege.version.reads", metric.WithDescription("Reads of the store's version on the check path, when the engine tracks it (at most one per staleness bound without writes)."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for src := range t.checks {
			for i := range t.checks[src] {
				c := &t.checks[src][i]
				ob.ObserveInt64(checks, c.n.Load(), c.opt)
			}
		}
		ob.ObserveInt64(checks, t.errors.n.Load(), t.errors.opt)
		ob.ObserveInt64(panics, t.auditPanics.Load())
		if e.l2 != nil {
			ob.ObserveInt64(l2errs, e.l2.errs.Load())
		}
		if e.fo != nil {
			ob.ObserveInt64(failOpen, e.fo.served.Load())
		}
		if e.trk != nil {
			ob.ObserveInt64(rereads, e.trk.rereads.Load())
		}
		return nil
	}, checks, panics, l2errs, failOpen, rereads)
	return t
}

func (t *telemetry) decided(src int, allowed bool) {
	if allowed {
		t.checks[src][1].n.Add(1)
	} else {
		t.checks[src][0].n.Add(1)
	}
}

func (t *telemetry) failed() { t.errors.n.Add(1) }

func (t *telemetry) auditPanic() { t.auditPanics.Add(1) }

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
