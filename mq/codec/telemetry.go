package codec

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/mq/codec"

// counter is one outcome's running total. The hot paths only bump atomics;
// OpenTelemetry reads them through observable instruments at collection
// time, as in package mq.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *counter) add(n int) { c.n.Add(int64(n)) }

func (c *counter) set(typ, outcome string) {
	c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("message.type", typ), attribute.String("outcome", outcome)))
}

// typeStats are the counters of one registered type. The set of types is
// fixed at start-up, so the message.type attribute is bounded.
type typeStats struct {
	encoded, encodeFailed         counter
	decoded, upcast, decodeFailed counter
}

func (s *typeStats) init(typ string) {
	s.encoded.set(typ, "ok")
	s.encodeFailed.set(typ, "error")
	s.decoded.set(typ, "ok")
	s.upcast.set(typ, "upcast")
	s.decodeFailed.set(typ, "error")
}

// telemetry holds the counters not tied to a registered type: calls
// naming a type the registry does not know.
type telemetry struct {
	encodeUnknown, decodeUnknown counter
}

// newTelemetry registers the registry's observable instruments. The
// registration lives as long as the meter provider: a Registry has no
// Close, being made once per process.
func newTelemetry(o *options, r *Registry) *telemetry {
	t := &telemetry{}
	t.encodeUnknown.set("", "unknown_type")
	t.decodeUnknown.set("", "unknown_type")
	meter := o.meter.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	encoded, _ := meter.Int64ObservableCounter("codec.encoded", metric.WithDescription("Values encoded, by message type and outcome."))
	decoded, _ := meter.Int64ObservableCounter("codec.decoded", metric.WithDescription("Messages decoded, by message type and outcome (ok, upcast from an older version, error)."))
	_, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		r.mu.Lock() // collection time only; registration may still be going on
		defer r.mu.Unlock()
		for _, e := range r.types {
			s := &e.stats
			for _, c := range []*counter{&s.encoded, &s.encodeFailed} {
				ob.ObserveInt64(encoded, c.n.Load(), c.opt)
			}
			for _, c := range []*counter{&s.decoded, &s.upcast, &s.decodeFailed} {
				ob.ObserveInt64(decoded, c.n.Load(), c.opt)
			}
		}
		ob.ObserveInt64(encoded, t.encodeUnknown.n.Load(), t.encodeUnknown.opt)
		ob.ObserveInt64(decoded, t.decodeUnknown.n.Load(), t.decodeUnknown.opt)
		return nil
	}, encoded, decoded)
	return t
}
