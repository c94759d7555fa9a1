package eventstore

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/mq/eventstore"

// counter is one outcome's running total, read by an observable
// instrument at collection time, so the hot paths only bump atomics.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *counter) add(n int) { c.n.Add(int64(n)) }

// telemetry holds a Store's counters.
type telemetry struct {
	reg metric.Registration

	appendOK, appendConflict, appendError counter // Append calls
	events                                counter // events stored
	loaded                                counter // events returned by Load
}

func newTelemetry(mp metric.MeterProvider, topic string) *telemetry {
	t := &telemetry{}
	set := func(c *counter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("eventstore.topic", topic), attribute.String("outcome", outcome)))
	}
	set(&t.appendOK, "ok")
	set(&t.appendConflict, "conflict")
	set(&t.appendError, "error")
	one := metric.WithAttributeSet(attribute.NewSet(attribute.String("eventstore.topic", topic)))
	t.events.opt, t.loaded.opt = one, one
	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	appends, _ := meter.Int64ObservableCounter("eventstore.appends", metric.WithDescription("Append calls, by outcome: ok, conflict (not at the expected version), error."))
	events, _ := meter.Int64ObservableCounter("eventstore.events.appended", metric.WithDescription("Events stored by Append."))
	loaded, _ := meter.Int64ObservableCounter("eventstore.events.loaded", metric.WithDescription("Events returned by Load."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*counter{&t.appendOK, &t.appendConflict, &t.appendError} {
			ob.ObserveInt64(appends, c.n.Load(), c.opt)
		}
		ob.ObserveInt64(events, t.events.n.Load(), t.events.opt)
		ob.ObserveInt64(loaded, t.loaded.n.Load(), t.loaded.opt)
		return nil
	}, appends, events, loaded)
	return t
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
