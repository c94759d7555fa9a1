package logship

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const alertInstrumentation = "github.com/groundwork-go/groundwork/logship"

// alertCounter is one running total; the hot path and the evaluations
// only bump atomics, which OpenTelemetry reads at collection time.
type alertCounter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *alertCounter) add(n int) { c.n.Add(int64(n)) }

// alertTelemetry holds an Alerter's counters and their registration.
type alertTelemetry struct {
	reg metric.Registration

	alerts, suppressed, relearned, evaluations alertCounter
	published, publishFailed, callbackPanics   alertCounter
	untracked                                  alertCounter
}

func newAlertTelemetry(mp metric.MeterProvider, services func() int64) *alertTelemetry {
	t := &alertTelemetry{}
	set := func(c *alertCounter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
	}
	set(&t.alerts, "fired")
	set(&t.suppressed, "cooldown")
	set(&t.relearned, "relearned")
	set(&t.published, "published")
	set(&t.publishFailed, "publish_failed")
	set(&t.callbackPanics, "callback_panic")

	meter := mp.Meter(alertInstrumentation)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	alerts, _ := meter.Int64ObservableCounter("logship.alerter.alerts",
		metric.WithDescription("Anomalous windows, by outcome: fired, cooldown (suppressed by the cooldown), relearned (taken as the new baseline)."))
	deliveries, _ := meter.Int64ObservableCounter("logship.alerter.deliveries",
		metric.WithDescription("Fired alerts' deliveries, by outcome: published, publish_failed, callback_panic."))
	evals, _ := meter.Int64ObservableCounter("logship.alerter.evaluations", metric.WithDescription("Evaluations run (one a step)."))
	untracked, _ := meter.Int64ObservableCounter("logship.alerter.untracked", metric.WithDescription("Records ignored because MaxServices services are tracked already."))
	tracked, _ := meter.Int64ObservableGauge("logship.alerter.services", metric.WithDescription("Services whose error rate is tracked."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*alertCounter{&t.alerts, &t.suppressed, &t.relearned} {
			ob.ObserveInt64(alerts, c.n.Load(), c.opt)
		}
		for _, c := range []*alertCounter{&t.published, &t.publishFailed, &t.callbackPanics} {
			ob.ObserveInt64(deliveries, c.n.Load(), c.opt)
		}
		ob.ObserveInt64(evals, t.evaluations.n.Load())
		ob.ObserveInt64(untracked, t.untracked.n.Load())
		ob.ObserveInt64(tracked, services())
		return nil
	}, alerts, deliveries, evals, untracked, tracked)
	return t
}

func (t *alertTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
