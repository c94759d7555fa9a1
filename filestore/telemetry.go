package filestore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/breaker"
	"github.com/groundwork-go/groundwork/resilience"
)

const instrumentationName = "github.com/groundwork-go/groundwork/filestore"

// op is a Service operation, as metrics and spans name it.
type op int

const (
	opUpload op = iota
	opDownload
	opDelete
	opStartUpload
	opWritePart
	opComplete
	opAbort
	numOps
)

var opNames = [numOps]string{"upload", "download", "delete", "start_upload", "write_part", "complete", "abort"}

// spanNames are the operations' span names, made once: starting a span
// builds no string.
var spanNames = func() (n [numOps]string) {
	for o, name := range opNames {
		n[o] = "filestore " + name
	}
	return n
}()

const spanCleanup = "filestore cleanup"

// outcome classifies how an operation ended.
type outcome int

const (
	outOK          outcome = iota
	outError               // the backend or the request failed
	outBackendDown         // refused at once: the backend's breaker is open
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "backend_down"}

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return outOK
	case errors.Is(err, ErrBackendDown):
		return outBackendDown
	}
	return outError
}

// What Cleanup removes, by kind.
const (
	cleanStaleFile   = iota // a pending or deleting record, with its object
	cleanStaleUpload        // a resumable upload idle for StaleAfter, with its parts
	cleanOrphan             // an object no record names
	numCleanKinds
)

var cleanNames = [numCleanKinds]string{"stale_file", "stale_upload", "orphan"}

// counter is a running total read at collection time: the hot paths only
// bump atomics, as in package mq.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

// backendTel is one backend's counters, with their attribute sets made
// once, so that counting allocates nothing.
type backendTel struct {
	ops                  [numOps][numOutcomes]counter
	durOpt               [numOps][numOutcomes]metric.RecordOption
	uploaded, downloaded counter // bytes
	breakerOpt           metric.ObserveOption
	br                   *breaker.Breaker
}

// telemetry holds a Service's tracer and instruments. Counters and
// gauges are observed at collection time; the latency histogram is
// recorded as each operation ends (a no-op without an SDK).
type telemetry struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	reg      metric.Registration
	backends map[string]*backendTel
	// pending counts the file records this Service has written pending
	// and not yet settled (made ready, or removed): uploads in flight.
	pending atomic.Int64
	cleaned [numCleanKinds]counter
}

func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider, backends []*backend) *telemetry {
	t := &telemetry{tracer: tp.Tracer(instrumentationName), backends: map[string]*backendTel{}}
	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	t.duration, _ = meter.Float64Histogram("filestore.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("How long Service operations took, by backend, operation and outcome."))
	for _, b := range backends {
		bt := &backendTel{br: b.br}
		backendAttr := attribute.String("filestore.backend", b.name)
		for o := range numOps {
			for oc := range numOutcomes {
				set := attribute.NewSet(backendAttr, attribute.String("filestore.operation", opNames[o]), attribute.String("outcome", outcomeNames[oc]))
				bt.ops[o][oc].opt = metric.WithAttributeSet(set)
				bt.durOpt[o][oc] = metric.WithAttributeSet(set)
			}
		}
		bt.uploaded.opt = metric.WithAttributeSet(attribute.NewSet(backendAttr, attribute.String("direction", "upload")))
		bt.downloaded.opt = metric.WithAttributeSet(attribute.NewSet(backendAttr, attribute.String("direction", "download")))
		bt.breakerOpt = metric.WithAttributeSet(attribute.NewSet(backendAttr))
		t.backends[b.name] = bt
		b.tel = bt
	}
	for k := range numCleanKinds {
		t.cleaned[k].opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", cleanNames[k])))
	}
	ops, _ := meter.Int64ObservableCounter("filestore.operations",
		metric.WithDescription("Service operations, by backend, operation and outcome."))
	bytes, _ := meter.Int64ObservableCounter("filestore.bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes uploaded to and downloaded from each backend (downloads: as read)."))
	breaker, _ := meter.Int64ObservableGauge("filestore.breaker.state",
		metric.WithDescription("Each backend's circuit breaker: 0 closed, 1 half-open, 2 open."))
	pending, _ := meter.Int64ObservableUpDownCounter("filestore.records.pending",
		metric.WithDescription("File records this Service wrote pending and has not settled yet: uploads in flight."))
	cleaned, _ := meter.Int64ObservableCounter("filestore.cleanup.removed",
		metric.WithDescription("What Cleanup removed: stale records with their objects, idle uploads, orphaned objects."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, bt := range t.backends {
			for o := range numOps {
				for oc := range numOutcomes {
					c := &bt.ops[o][oc]
					ob.ObserveInt64(ops, c.n.Load(), c.opt)
				}
			}
			ob.ObserveInt64(bytes, bt.uploaded.n.Load(), bt.uploaded.opt)
			ob.ObserveInt64(bytes, bt.downloaded.n.Load(), bt.downloaded.opt)
			ob.ObserveInt64(breaker, breakerValue(bt.br.State()), bt.breakerOpt)
		}
		ob.ObserveInt64(pending, t.pending.Load())
		for k := range numCleanKinds {
			ob.ObserveInt64(cleaned, t.cleaned[k].n.Load(), t.cleaned[k].opt)
		}
		return nil
	}, ops, bytes, breaker, pending, cleaned)
	return t
}

func breakerValue(s resilience.BreakerState) int64 {
	switch s {
	case resilience.StateHalfOpen:
		return 1
	case resilience.StateOpen:
		return 2
	}
	return 0
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// observe counts one operation on b that began at start and ended with
// err, and records its duration.
func (t *telemetry) observe(ctx context.Context, b *backend, o op, start time.Time, err error) {
	oc := outcomeOf(err)
	b.tel.ops[o][oc].n.Add(1)
	t.duration.Record(ctx, time.Since(start).Seconds(), b.tel.durOpt[o][oc])
}

// startSpan begins the span of a Service operation; callers add
// attributes only when it records.
func (t *telemetry) startSpan(ctx context.Context, o op) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, spanNames[o])
}

// endSpan ends span with err's status.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
