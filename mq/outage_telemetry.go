package mq

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// refusals counts what became of buffered messages the broker refused for
// good, and exports it, with the quarantine's size, the way telemetry.go
// exports the Client's counters: atomics read at collection time.
type refusals struct {
	dlq, quarantined counter
	reg              metric.Registration
}

func (b *outageBuffer) registerMetrics() {
	r := &b.refusals
	provider := attribute.String("mq.provider", b.c.provider)
	r.dlq.opt = metric.WithAttributeSet(attribute.NewSet(provider, attribute.String("outcome", "dead_letter")))
	r.quarantined.opt = metric.WithAttributeSet(attribute.NewSet(provider, attribute.String("outcome", "quarantined")))
	sizeOpt := metric.WithAttributeSet(attribute.NewSet(provider))

	meter := b.c.opts.meter.Meter(instrumentationName)
	refused, _ := meter.Int64ObservableCounter("mq.outage_buffer.refused",
		metric.WithDescription("Buffered messages the broker refused for good, by where they went: the dead-letter topic or the quarantine."))
	held, _ := meter.Int64ObservableGauge("mq.outage_buffer.quarantined",
		metric.WithDescription("Entries in the outage buffer's quarantine."))
	r.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(refused, r.dlq.n.Load(), r.dlq.opt)
		ob.ObserveInt64(refused, r.quarantined.n.Load(), r.quarantined.opt)
		ob.ObserveInt64(held, int64(b.q.len()), sizeOpt)
		return nil
	}, refused, held)
}

func (b *outageBuffer) unregisterMetrics() {
	if b.refusals.reg != nil {
		_ = b.refusals.reg.Unregister()
	}
}
