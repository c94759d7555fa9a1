package filestore_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestTelemetry checks with the real OpenTelemetry SDK that the Service
// counts operations and bytes by backend and outcome, records their
// latency, reports breaker states, uploads in flight and what Cleanup
// removed, and makes a span per operation.
func TestTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer mp.Shutdown(ctx)
	defer tp.Shutdown(ctx)

	flaky, a := newLossy(t)
	_, b := newLossy(t)
	meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "a", Store: a}, {Name: "b", Store: b}}, Metadata: meta,
		Policy:     filestore.Policy{Otherwise: []string{"a", "b"}},
		Retry:      resilience.RetryPolicy{MaxAttempts: 1},
		Breaker:    resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour},
		StaleAfter: time.Hour, RemoveOrphans: true, MeterProvider: mp, TracerProvider: tp})
	clk := withClock(svc)

	var inFlight map[string]int64
	meta.setBeforeUpdate(func(f *filestore.FileRecord, _ filestore.FileState) error {
		if f.State == filestore.FileReady && inFlight == nil {
			inFlight = collect(t, reader)
		}
		return nil
	})
	rec, err := svc.Upload(ctx, strings.NewReader("hello"), filestore.UploadOptions{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	r, _, err := svc.Download(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	r.Close()
	flaky.failWrites.Store(true) // a fails, opens its breaker; uploads go to b
	for range 2 {
		if rec, err := svc.Upload(ctx, strings.NewReader("0123456789"), filestore.UploadOptions{Name: "y"}); err != nil || rec.Backend != "b" {
			t.Fatalf("upload with a failing: %+v %v", rec, err)
		}
	}
	if _, _, err := svc.Download(ctx, "no-such-file"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "filestore/files/ab/orphan", strings.NewReader("lost"), nil); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Hour)
	// The failed uploads' records stay pending (a's breaker refused the
	// removal of their objects), and Cleanup cannot reach a either.
	if err := svc.Cleanup(ctx); !errors.Is(err, filestore.ErrBackendDown) {
		t.Fatalf("Cleanup with a's breaker open: %v", err)
	}

	if inFlight["filestore.records.pending"] != 1 {
		t.Fatalf("uploads in flight while one was: %v", inFlight["filestore.records.pending"])
	}
	got := collect(t, reader)
	want := map[string]int64{
		"filestore.operations a upload ok":           1,
		"filestore.operations a upload error":        1,
		"filestore.operations a upload backend_down": 1,
		"filestore.operations b upload ok":           2,
		"filestore.operations a download ok":         1,
		"filestore.bytes a upload":                   5,
		"filestore.bytes a download":                 5,
		"filestore.bytes b upload":                   20,
		"filestore.operation.duration a upload ok":   1, // histogram: the count
		"filestore.operation.duration b upload ok":   2,
		"filestore.breaker.state a":                  2,
		"filestore.breaker.state b":                  0,
		"filestore.records.pending":                  0,
		"filestore.cleanup.removed orphan":           1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	names := map[string]int{}
	var failed bool
	for _, s := range spans.Ended() {
		names[s.Name()]++
		if s.Name() == "filestore download" && s.Status().Code == codes.Error {
			failed = true
		}
	}
	if names["filestore upload"] != 3 || names["filestore download"] != 2 || names["filestore cleanup"] != 1 || !failed {
		t.Fatalf("spans %v (a failed download: %v); want 3 uploads, 2 downloads (one failed), 1 cleanup", names, failed)
	}
}

// collect reads every data point as "metric attr-values...": sums and
// gauges by value, histograms by count.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, p := range otelcheck.Points(t, reader) {
		k := p.Metric
		for _, a := range []string{"filestore.backend", "filestore.operation", "direction", "outcome", "kind"} {
			if v := p.Attr(a); v != "" {
				k += " " + v
			}
		}
		if p.Kind == otelcheck.Gauge {
			got[k] = p.Value
		} else {
			got[k] += p.Value
		}
	}
	return got
}

// TestDownloadLatencyInItsSpan: a download's latency is recorded in its
// span's context, so that the histogram's exemplar points at the span.
func TestDownloadLatencyInItsSpan(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer mp.Shutdown(ctx)
	defer tp.Shutdown(ctx)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: localStore(t)}},
		MeterProvider: mp, TracerProvider: tp})
	rec, err := svc.Upload(ctx, strings.NewReader("hello"), filestore.UploadOptions{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	r, _, err := svc.Download(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var download trace.SpanID
	for _, s := range spans.Ended() {
		if s.Name() == "filestore download" {
			download = s.SpanContext().SpanID()
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	var exemplars []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok || m.Name != "filestore.operation.duration" {
				continue
			}
			for _, dp := range h.DataPoints {
				if op, _ := dp.Attributes.Value("filestore.operation"); op.AsString() != "download" {
					continue
				}
				for _, e := range dp.Exemplars {
					exemplars = append(exemplars, trace.SpanID(e.SpanID).String())
				}
			}
		}
	}
	if len(exemplars) != 1 || exemplars[0] != download.String() {
		t.Fatalf("download latency exemplars %v; want the download span %s", exemplars, download)
	}
}

// bareTracerProvider's spans cost nothing: Start returns the ctx as it
// is, so that what remains to allocate is the Service's own doing.
type bareTracerProvider struct{ noop.TracerProvider }

func (bareTracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return bareTracer{} }

type bareTracer struct{ noop.Tracer }

func (bareTracer) Start(ctx context.Context, _ string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	return ctx, trace.SpanFromContext(ctx)
}

// TestSpanNamesMadeOnce: starting an operation's span builds no string.
func TestSpanNamesMadeOnce(t *testing.T) {
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: localStore(t)}},
		TracerProvider: bareTracerProvider{}})
	if n := filestore.SpanAllocs(svc); n != 0 {
		t.Fatalf("starting a span allocates %v times, want 0", n)
	}
}
