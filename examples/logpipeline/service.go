package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/propagation"
)

// checkout is the service whose logs the pipeline carries. It logs as
// any service does, through a *slog.Logger, and knows nothing of
// logship: the Handler behind the logger is the only change.
type checkout struct {
	log   *slog.Logger // requests
	probe *slog.Logger // the load balancer's health probe: noisy, sampled
	n     int          // orders so far
}

// customer is logged in the clear on purpose: the Handler's redaction
// rules must take the e-mail address and the card number out before the
// record leaves the process.
const (
	customerEmail = "ada@example.com"
	customerCard  = "4111 1111 1111 1111" // a test Visa number: passes the Luhn check
)

// order handles one order request. Its trace context comes from the
// caller's traceparent header, as an HTTP server's middleware would
// extract it, so its records carry trace.id and span.id.
func (c *checkout) order(ctx context.Context, declined bool) {
	c.n++
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{
		"traceparent": traceparent(c.n),
	})
	id := fmt.Sprintf("A-%04d", c.n)
	if declined {
		c.log.ErrorContext(ctx, "payment failed", "order", id, "customer", customerEmail,
			"err", errors.New("payment provider: card declined"))
		return
	}
	c.log.InfoContext(ctx, "order placed", "order", id, "customer", customerEmail,
		"card", customerCard, "amount_cents", 1999)
}

// healthCheck answers the load balancer's probe, which comes every few
// seconds on every instance and says nothing new: the kind of record
// sampling is for.
func (c *checkout) healthCheck(ctx context.Context) {
	c.probe.DebugContext(ctx, "health check ok")
}

// traceparent is order n's W3C trace context: the trace id its caller
// started (fixed here, so that the output is the same on every run).
func traceparent(n int) string {
	return fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e%06x-00f067aa0ba9%04x-01", n, n)
}
