package logship

import (
	"context"
	"errors"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
)

// TestShipperTelemetry checks, with the real OpenTelemetry SDK, every
// instrument of the Shipper: outcomes, drops by reason, retries, writes,
// the queue and buffer gauges and the write latency histogram.
func TestShipperTelemetry(t *testing.T) {
	engineNoLeaks(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	sink := newEngineSink()
	sink.outcome = func(call int, batch []Record) (Result, error) {
		if call == 0 {
			return Result{Failures: []Failure{
				{Index: 0, Err: errors.New("429"), Retryable: true},
				{Index: 1, Err: errors.New("mapping"), Retryable: false},
			}}, nil
		}
		return Result{}, nil
	}
	dlq := newEngineSink()
	hold := make(chan struct{})
	sink.hold = hold
	s := engineShipper(t, sink, nil, WithMeterProvider(mp), WithDeadLetter(dlq), WithQueue(3, DropNewest), engineNoSleep)
	for i := range 7 { // 3 taken by the held Write, 3 queued, 1 dropped
		s.submit(context.Background(), engineRecord(i))
		if i == 2 {
			waitFor(t, func() bool { n, _ := s.q.stats(); return n == 0 })
		}
	}
	points := otelcheck.Points(t, reader)
	gauge := func(name string) int64 {
		for _, p := range points {
			if p.Metric == name {
				return p.Value
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	if gauge("logship.shipper.queue.records") != 3 || gauge("logship.shipper.queue.bytes") != int64(3*recordSize(engineRecord(0))) {
		t.Fatalf("queue gauges %v", points)
	}
	close(hold)
	// Shutdown unregisters the instruments: read them once everything is
	// settled, before it.
	waitFor(t, func() bool { return s.tel.delivered.Load() == 5 && s.tel.deadLettered.Load() == 1 })
	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		switch p.Metric {
		case "logship.shipper.records":
			return "records/" + p.Attr("outcome")
		case "logship.shipper.dropped":
			return "dropped/" + p.Attr("reason")
		case "logship.shipper.write.duration":
			return "write/" + p.Attr("outcome")
		case "logship.shipper.retries", "logship.shipper.batches", "logship.shipper.queue.records":
			return p.Metric
		}
		return ""
	})
	want := map[string]int64{
		"records/accepted": 6, "records/delivered": 5, "records/dead_letter": 1,
		"dropped/queue_full": 1, "dropped/evicted": 0, "dropped/permanent": 0,
		"logship.shipper.retries": 1,
		// Writes: the first batch (partial), its retry, the dead letter,
		// the second batch.
		"logship.shipper.batches": 4, "write/partial": 1, "write/ok": 3,
		"logship.shipper.queue.records": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range otelcheck.Points(t, reader) {
		if p.Kind != otelcheck.Histogram { // the histogram is the SDK's to keep
			t.Errorf("%s observed after Shutdown: the callback is still registered", p.Metric)
		}
	}
}

func TestShipperTelemetryBufferBytes(t *testing.T) {
	engineNoLeaks(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	sink := newEngineSink()
	s := engineShipper(t, sink, nil, WithMeterProvider(mp), WithBuffer(t.TempDir()), WithBatch(10, 1<<20, time.Hour))
	s.submit(context.Background(), engineRecord(0))
	var bytes, records int64 = -1, -1
	for _, p := range otelcheck.Points(t, reader) {
		switch p.Metric {
		case "logship.shipper.buffer.bytes":
			bytes = p.Value
		case "logship.shipper.queue.records":
			records = p.Value
		}
	}
	if bytes <= 0 || records != 1 {
		t.Fatalf("buffer bytes %d, records %d", bytes, records)
	}
}

// The submit path costs one allocation a record in steady state: the
// copy of the borrowed bytes (memory) or the WAL's record (buffer).
func TestShipperSubmitAllocations(t *testing.T) {
	engineNoLeaks(t)
	for _, buffered := range []bool{false, true} {
		opts := []Option{WithQueue(100_000, DropNewest), WithQueueBytes(1 << 30), WithBatch(100_000, 1<<30, time.Hour)}
		if buffered {
			opts = append(opts, WithBuffer(t.TempDir()))
		}
		s := engineShipper(t, discardSink{}, nil, opts...)
		r := engineRecord(1)
		for range 100 { // warm up: the queue's slice, the pool
			s.submit(context.Background(), r)
		}
		if n := testing.AllocsPerRun(1000, func() { s.submit(context.Background(), r) }); n > 1 {
			t.Errorf("buffered %v: %v allocations a record", buffered, n)
		}
	}
}
