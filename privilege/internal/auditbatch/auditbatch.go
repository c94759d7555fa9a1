// Package auditbatch starts the batcher behind each of privilege's batched
// audit sinks: PostgresAudit in privilege and the sink of
// privilege/mqaudit. It is internal to privilege so that this shared
// constructor is no part of privilege's API. privilege imports it, so it
// cannot import privilege: the option type and privilege.ErrInvalid come
// in as parameters.
package auditbatch

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/privilege/internal/operr"
)

// instrumentation is privilege's instrumentation name: the sinks' counters
// sit beside the engine's.
const instrumentation = "github.com/groundwork-go/groundwork/privilege"

// New starts the batcher of the audit sink named sink (the "sink"
// attribute of its counters: "postgres", "mq") writing with flush, after
// opts (privilege.AuditOption values); invalid is privilege.ErrInvalid.
// Its errors read "privilege: new <sink> audit sink: invalid argument: …",
// as privilege's own do, so the sinks' constructors return them as they
// are.
func New[T any, O ~func(*batcher.Options) error](sink string, invalid error, flush func(context.Context, batcher.Batch[T]) error, opts []O) (*batcher.Batcher[T], error) {
	o := batcher.Options{Meter: otel.GetMeterProvider()}
	for _, opt := range opts {
		if opt == nil {
			return nil, Invalid(sink, invalid, "nil audit option")
		}
		if err := opt(&o); err != nil {
			return nil, wrap(sink, err)
		}
	}
	b, err := batcher.New(batcher.Names{Instrumentation: instrumentation, Metric: "privilege.audit", Sink: sink}, o, flush)
	if err != nil {
		return nil, Invalid(sink, invalid, "audit: "+err.Error())
	}
	return b, nil
}

// Invalid is the error of a sink constructor's bad argument: invalid
// (privilege.ErrInvalid) wrapped with why.
func Invalid(sink string, invalid error, why string) error {
	return wrap(sink, fmt.Errorf("%w: %s", invalid, why))
}

func wrap(sink string, err error) error {
	return operr.Wrap("new "+sink+" audit sink", err)
}
