package mq

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "github.com/groundwork-go/groundwork/mq"

// counter is one outcome's running total. The hot paths only bump atomics;
// OpenTelemetry reads them through observable instruments at collection
// time, so metrics cost nothing per message when no SDK is installed.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *counter) add(n int) { c.n.Add(int64(n)) }

// telemetry holds a Client's tracer, propagator and counters.
type telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	reg        metric.Registration

	pubOK, pubBuffered, pubFailed      counter
	conOK, conRetry, conDLQ, conDedupe counter
	conDLQFailed, conHandedBack        counter
}

func newTelemetry(o *clientOptions, provider string, buffered func() int) *telemetry {
	t := &telemetry{
		tracer:     o.tracer.Tracer(instrumentationName),
		propagator: o.propagator,
	}
	set := func(c *counter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("mq.provider", provider), attribute.String("outcome", outcome)))
	}
	set(&t.pubOK, "ok")
	set(&t.pubBuffered, "buffered")
	set(&t.pubFailed, "error")
	set(&t.conOK, "ok")
	set(&t.conRetry, "retry")
	set(&t.conDLQ, "dead_letter")
	set(&t.conDedupe, "duplicate")
	set(&t.conDLQFailed, "dead_letter_failed")
	set(&t.conHandedBack, "handed_back")
	bufOpt := metric.WithAttributeSet(attribute.NewSet(attribute.String("mq.provider", provider)))

	meter := o.meter.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	published, _ := meter.Int64ObservableCounter("mq.published", metric.WithDescription("Messages accepted by Publish, by outcome."))
	consumed, _ := meter.Int64ObservableCounter("mq.consumed", metric.WithDescription("Handler outcomes for received messages."))
	depth, _ := meter.Int64ObservableGauge("mq.outage_buffer.publishes", metric.WithDescription("Publish calls waiting in the outage buffer."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*counter{&t.pubOK, &t.pubBuffered, &t.pubFailed} {
			ob.ObserveInt64(published, c.n.Load(), c.opt)
		}
		for _, c := range []*counter{&t.conOK, &t.conRetry, &t.conDLQ, &t.conDedupe, &t.conDLQFailed, &t.conHandedBack} {
			ob.ObserveInt64(consumed, c.n.Load(), c.opt)
		}
		ob.ObserveInt64(depth, int64(buffered()), bufOpt)
		return nil
	}, published, consumed, depth)
	return t
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// injectTrace returns headers with the trace context of ctx added, copying
// the map only when there is a context to add, so the caller's map is never
// modified.
func (c *Client) injectTrace(ctx context.Context, headers map[string]string) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return headers
	}
	out := make(map[string]string, len(headers)+2)
	for k, v := range headers {
		out[k] = v
	}
	c.tel.propagator.Inject(ctx, propagation.MapCarrier(out))
	return out
}

// extractTrace returns ctx carrying the trace context found in headers.
func (c *Client) extractTrace(ctx context.Context, headers map[string]string) context.Context {
	if len(headers) == 0 {
		return ctx
	}
	return c.tel.propagator.Extract(ctx, propagation.MapCarrier(headers))
}
