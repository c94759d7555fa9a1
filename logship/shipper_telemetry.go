package logship

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// shipperScope names the Shipper's meter.
const shipperScope = "github.com/groundwork-go/groundwork/logship"

// dropReason is why the Shipper gave a record up; its name is the value
// of the "reason" attribute of logship.shipper.dropped.
type dropReason int

const (
	reasonQueueFull        dropReason = iota // DropNewest, queue full
	reasonEvicted                            // DropOldest made room for a newer record
	reasonBlockTimeout                       // Block's deadline (or the caller's context) ran out
	reasonTooLarge                           // larger than the queue or the buffer can ever hold
	reasonBufferFull                         // the disk buffer is at WithBufferMaxBytes
	reasonBufferError                        // the disk buffer failed to write
	reasonClosed                             // submitted after Shutdown
	reasonRetriesExhausted                   // the retry policy ran out, no dead-letter sink for it
	reasonPermanent                          // refused for good, no dead-letter sink
	reasonDeadLetterFailed                   // the dead-letter sink failed too
	reasonShutdown                           // still in memory when Shutdown's context ended
	reasonQuarantined                        // unreadable in the buffer: its bytes are in the quarantine
	numReasons
)

var reasonNames = [numReasons]string{
	"queue_full", "evicted", "block_timeout", "too_large", "buffer_full", "buffer_error",
	"closed", "retries_exhausted", "permanent", "dead_letter_failed", "shutdown", "quarantined",
}

func (r dropReason) String() string { return reasonNames[r] }

// shipperTelemetry holds the Shipper's counters. As in mq, the hot path
// only bumps atomics; OpenTelemetry reads them at collection time. The
// write latency histogram is recorded once per Write, off the hot path.
type shipperTelemetry struct {
	accepted, delivered, deadLettered, retries, batches atomic.Int64
	dropped                                             [numReasons]atomic.Int64

	latency metric.Float64Histogram
	reg     metric.Registration
	front   metric.Registration // the Handlers' and Writers' counters (front_telemetry.go)
}

func newShipperTelemetry(mp metric.MeterProvider, queued func() (records, bytes int64), buffered func() int64) *shipperTelemetry {
	t := &shipperTelemetry{}
	meter := mp.Meter(shipperScope)
	// Instrument creation fails only for invalid names, and these are
	// fixed; the API hands back usable no-op instruments in any case.
	records, _ := meter.Int64ObservableCounter("logship.shipper.records",
		metric.WithDescription("Records by outcome: accepted by submit, delivered to the sink, dead-lettered."))
	dropped, _ := meter.Int64ObservableCounter("logship.shipper.dropped",
		metric.WithDescription("Records the Shipper gave up, by reason."))
	retries, _ := meter.Int64ObservableCounter("logship.shipper.retries",
		metric.WithDescription("Records written again after a failure."))
	batches, _ := meter.Int64ObservableCounter("logship.shipper.batches",
		metric.WithDescription("Writes to the sink and the dead-letter sink, retries included."))
	qRecords, _ := meter.Int64ObservableGauge("logship.shipper.queue.records",
		metric.WithDescription("Records waiting for the sink: in memory, or unacknowledged in the disk buffer."))
	qBytes, _ := meter.Int64ObservableGauge("logship.shipper.queue.bytes",
		metric.WithDescription("JSON bytes waiting in the in-memory queue."), metric.WithUnit("By"))
	bufBytes, _ := meter.Int64ObservableGauge("logship.shipper.buffer.bytes",
		metric.WithDescription("Bytes the disk buffer takes on disk."), metric.WithUnit("By"))
	t.latency, _ = meter.Float64Histogram("logship.shipper.write.duration",
		metric.WithDescription("Time a Write to the sink took, by outcome."), metric.WithUnit("s"))

	outcome := func(s string) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", s)))
	}
	accOpt, delOpt, dlqOpt := outcome("accepted"), outcome("delivered"), outcome("dead_letter")
	var reasonOpts [numReasons]metric.ObserveOption
	for r := range numReasons {
		reasonOpts[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(records, t.accepted.Load(), accOpt)
		ob.ObserveInt64(records, t.delivered.Load(), delOpt)
		ob.ObserveInt64(records, t.deadLettered.Load(), dlqOpt)
		for r := range numReasons {
			ob.ObserveInt64(dropped, t.dropped[r].Load(), reasonOpts[r])
		}
		ob.ObserveInt64(retries, t.retries.Load())
		ob.ObserveInt64(batches, t.batches.Load())
		n, b := queued()
		ob.ObserveInt64(qRecords, n)
		ob.ObserveInt64(qBytes, b)
		ob.ObserveInt64(bufBytes, buffered())
		return nil
	}, records, dropped, retries, batches, qRecords, qBytes, bufBytes)
	return t
}

var (
	writeOK     = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "ok")))
	writeFailed = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "error")))
	writePart   = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "partial")))
)

// wrote records one Write's latency and outcome.
func (t *shipperTelemetry) wrote(start time.Time, res Result, err error) {
	opt := writeOK
	switch {
	case err != nil:
		opt = writeFailed
	case len(res.Failures) > 0:
		opt = writePart
	}
	t.batches.Add(1)
	t.latency.Record(context.Background(), time.Since(start).Seconds(), opt)
}

func (t *shipperTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
	if t.front != nil {
		_ = t.front.Unregister()
	}
}
