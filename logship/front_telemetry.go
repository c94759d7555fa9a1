package logship

import (
	"context"

	"go.opentelemetry.io/otel/metric"
)

// registerFrontMetrics registers the front end's observable counters on
// meter — logship.records.sampled (records Sampling dropped) and
// logship.lines.split (Writer lines longer than 64 KiB, shipped in
// pieces) — read from atomics at collection time, as mq/telemetry.go
// does. The engine calls it with the Shipper's meter and unregisters the
// result at Shutdown.
func (s *Shipper) registerFrontMetrics(meter metric.Meter) (metric.Registration, error) {
	sampled, err := meter.Int64ObservableCounter("logship.records.sampled", metric.WithDescription("Records below Error that a Handler's Sampling dropped."))
	if err != nil {
		return nil, err
	}
	split, err := meter.Int64ObservableCounter("logship.lines.split", metric.WithDescription("Writer lines longer than 64 KiB, shipped in pieces."))
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(sampled, s.front.sampled.Load())
		o.ObserveInt64(split, s.front.split.Load())
		return nil
	}, sampled, split)
}
