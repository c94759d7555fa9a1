package outbox

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/mq/outbox"

// counter is one outcome's running total, read by an observable
// instrument at collection time, so the hot paths only bump atomics.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *counter) add(n int) { c.n.Add(int64(n)) }

// telemetry holds an Outbox's counters.
type telemetry struct {
	reg metric.Registration

	enqueued                   counter
	sent, failed, retried, bad counter // bad: relay rounds that failed on PostgreSQL
}

func newTelemetry(mp metric.MeterProvider, table string) *telemetry {
	t := &telemetry{}
	set := func(c *counter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("outbox.table", table), attribute.String("outcome", outcome)))
	}
	set(&t.enqueued, "ok")
	set(&t.sent, "sent")
	set(&t.failed, "failed")
	set(&t.retried, "retry")
	set(&t.bad, "db_error")
	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	enq, _ := meter.Int64ObservableCounter("outbox.enqueued", metric.WithDescription("Messages stored by Enqueue (counted when the statement ran, before the caller's commit)."))
	relayed, _ := meter.Int64ObservableCounter("outbox.relayed", metric.WithDescription("Relay outcomes: messages sent, failed for good (kept with their error), publish attempts to retry, relay rounds failed on PostgreSQL."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(enq, t.enqueued.n.Load(), t.enqueued.opt)
		for _, c := range []*counter{&t.sent, &t.failed, &t.retried, &t.bad} {
			ob.ObserveInt64(relayed, c.n.Load(), c.opt)
		}
		return nil
	}, enq, relayed)
	return t
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
