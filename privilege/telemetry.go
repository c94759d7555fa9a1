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

// telemetry counts decisions by outcome and by where they came from.
type telemetry struct {
	reg                                  metric.Registration
	l1Allow, l1Deny, calcAllow, calcDeny counter
	errors                               counter
	auditPanics                          atomic.Int64
}

func newTelemetry(mp metric.MeterProvider) *telemetry {
	t := &telemetry{}
	set := func(c *counter, decision, source string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", decision), attribute.String("source", source)))
	}
	set(&t.l1Allow, "allow", "l1")
	set(&t.l1Deny, "deny", "l1")
	set(&t.calcAllow, "allow", "computed")
	set(&t.calcDeny, "deny", "computed")
	set(&t.errors, "error", "none")
	meter := mp.Meter(instrumentationName)
	// Creation fails only for invalid names, and ours are fixed; the API
	// returns usable no-op instruments in any case.
	checks, _ := meter.Int64ObservableCounter("privilege.checks", metric.WithDescription("Access decisions, by decision and by source (l1 cache or computed); errors fail closed."))
	panics, _ := meter.Int64ObservableCounter("privilege.audit.panics", metric.WithDescription("Audit sink calls that panicked (recovered; the decision stood)."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*counter{&t.l1Allow, &t.l1Deny, &t.calcAllow, &t.calcDeny, &t.errors} {
			ob.ObserveInt64(checks, c.n.Load(), c.opt)
		}
		ob.ObserveInt64(panics, t.auditPanics.Load())
		return nil
	}, checks, panics)
	return t
}

func (t *telemetry) hit(allowed bool) {
	if allowed {
		t.l1Allow.n.Add(1)
	} else {
		t.l1Deny.n.Add(1)
	}
}

func (t *telemetry) miss(allowed bool) {
	if allowed {
		t.calcAllow.n.Add(1)
	} else {
		t.calcDeny.n.Add(1)
	}
}

func (t *telemetry) failed() { t.errors.n.Add(1) }

func (t *telemetry) auditPanic() { t.auditPanics.Add(1) }

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
