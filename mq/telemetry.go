package mq

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "github.com/groundwork-go/groundwork/mq"

// telemetry holds the instruments and the pre-built attribute options, so
// that the hot paths record without allocating.
type telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	published metric.Int64Counter
	consumed  metric.Int64Counter

	pubOK, pubBuffered, pubFailed      metric.AddOption
	conOK, conRetry, conDLQ, conDedupe metric.AddOption
}

func newTelemetry(o *clientOptions, provider string) *telemetry {
	t := &telemetry{
		tracer:     o.tracer.Tracer(instrumentationName),
		propagator: o.propagator,
	}
	meter := o.meter.Meter(instrumentationName)
	// Instrument creation only fails for invalid names; ours are fixed,
	// and the API hands back a usable no-op instrument either way.
	t.published, _ = meter.Int64Counter("mq.published", metric.WithDescription("Messages accepted by Publish, by outcome."))
	t.consumed, _ = meter.Int64Counter("mq.consumed", metric.WithDescription("Handler outcomes for received messages."))
	with := func(outcome string) metric.AddOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("mq.provider", provider), attribute.String("outcome", outcome)))
	}
	t.pubOK, t.pubBuffered, t.pubFailed = with("ok"), with("buffered"), with("error")
	t.conOK, t.conRetry, t.conDLQ, t.conDedupe = with("ok"), with("retry"), with("dead_letter"), with("duplicate")
	return t
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
