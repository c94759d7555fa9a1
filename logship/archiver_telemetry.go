package logship

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const archiveInstrumentation = "github.com/groundwork-go/groundwork/logship"

// archiveCounter is one running total, read by observable instruments at
// collection time: the Archiver bumps atomics only.
type archiveCounter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *archiveCounter) add(n int64) { c.n.Add(n) }

// archiveTelemetry counts what an Archiver wrote.
type archiveTelemetry struct {
	reg metric.Registration
	// objects by outcome: written, existing (a redelivery rebuilt an
	// object already stored), failed (the Put failed; its messages are
	// redelivered), manifest_failed (a manifest update failed).
	objWritten, objExisting, objFailed, manifestFailed archiveCounter
	bytes, records                                     archiveCounter
}

func newArchiveTelemetry(mp metric.MeterProvider, topic string) *archiveTelemetry {
	t := &archiveTelemetry{}
	set := func(c *archiveCounter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("logship.topic", topic), attribute.String("outcome", outcome)))
	}
	set(&t.objWritten, "written")
	set(&t.objExisting, "existing")
	set(&t.objFailed, "failed")
	set(&t.manifestFailed, "manifest_failed")
	plain := metric.WithAttributeSet(attribute.NewSet(attribute.String("logship.topic", topic)))
	t.bytes.opt, t.records.opt = plain, plain

	meter := mp.Meter(archiveInstrumentation)
	// Creation fails only for invalid names, and these are fixed; the API
	// returns usable no-op instruments in any case.
	objects, _ := meter.Int64ObservableCounter("logship.archive.objects", metric.WithDescription("Archive objects, by outcome."))
	bytes, _ := meter.Int64ObservableCounter("logship.archive.bytes", metric.WithDescription("Compressed bytes of the archive objects written."), metric.WithUnit("By"))
	records, _ := meter.Int64ObservableCounter("logship.archive.records", metric.WithDescription("Records in the archive objects written."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*archiveCounter{&t.objWritten, &t.objExisting, &t.objFailed, &t.manifestFailed} {
			ob.ObserveInt64(objects, c.n.Load(), c.opt)
		}
		ob.ObserveInt64(bytes, t.bytes.n.Load(), t.bytes.opt)
		ob.ObserveInt64(records, t.records.n.Load(), t.records.opt)
		return nil
	}, objects, bytes, records)
	return t
}

func (t *archiveTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
