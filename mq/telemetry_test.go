package mq_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
)

// TestTelemetry checks, with the real OpenTelemetry SDK, that a publish
// under a recording span makes a producer span whose trace the consumer
// span continues, and that the outcome counters count.
func TestTelemetry(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer tp.Shutdown(ctx)
	defer mp.Shutdown(ctx)

	c, err := mq.Open(ctx, "mem://telemetry", mq.WithTracerProvider(tp), mq.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	handled := make(chan trace.SpanContext, 2)
	sub, err := c.Subscribe(ctx, "traced", "g", func(ctx context.Context, m *mq.Message) error {
		handled <- trace.SpanContextFromContext(ctx)
		if m.Attempt == 1 {
			return errors.New("once")
		}
		return nil
	}, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	parentCtx, parent := tp.Tracer("test").Start(ctx, "request")
	if err := c.Publish(parentCtx, &mq.Message{Topic: "traced", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	first, second := <-handled, <-handled
	sub.Close()
	if first.TraceID() != parent.SpanContext().TraceID() || second.TraceID() != first.TraceID() {
		t.Fatalf("consumer trace %v/%v, publisher trace %v", first.TraceID(), second.TraceID(), parent.SpanContext().TraceID())
	}
	kinds := map[string]trace.SpanKind{}
	for _, s := range spans.Ended() {
		kinds[s.Name()] = s.SpanKind()
	}
	if kinds["mq publish"] != trace.SpanKindProducer || kinds["mq process"] != trace.SpanKindConsumer {
		t.Fatalf("spans %v: want a producer \"mq publish\" and consumer \"mq process\"", kinds)
	}
	if n := len(spans.Ended()); n != 4 {
		t.Fatalf("%d spans ended, want 4: the test's request, one publish, two attempts", n)
	}

	got := collectCounters(t, reader)
	if got["mq.published/ok"] != 1 || got["mq.consumed/retry"] != 1 || got["mq.consumed/ok"] != 1 {
		t.Fatalf("counters %v: want 1 published, 1 retry, 1 ok", got)
	}
}

// TestDuplicateCountedApart: a message dedup skips counts as "duplicate",
// not as a handler success.
func TestDuplicateCountedApart(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	store, err := mq.NewMemoryDedup(100)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mq.Open(ctx, "mem://dupcount", mq.WithMeterProvider(mp), mq.WithDedup(store))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	last := make(chan struct{})
	calls := 0
	sub, err := c.Subscribe(ctx, "t", "g", func(_ context.Context, m *mq.Message) error {
		calls++ // one key: never concurrent
		if m.ID == "last" {
			close(last)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, &mq.Message{Topic: "t", Key: "k", ID: "same"}, &mq.Message{Topic: "t", Key: "k", ID: "same"},
		&mq.Message{Topic: "t", Key: "k", ID: "last"}); err != nil {
		t.Fatal(err)
	}
	<-last
	sub.Close()
	got := collectCounters(t, reader)
	if calls != 2 || got["mq.consumed/ok"] != 2 || got["mq.consumed/duplicate"] != 1 {
		t.Fatalf("%d handler calls, counters %v: want 2 calls, 2 ok, 1 duplicate", calls, got)
	}
}

// TestUntracedMessageHasNoSpan: a message published outside any trace is
// handled without a span, even with a recording provider.
func TestUntracedMessageHasNoSpan(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ctx := context.Background()
	defer tp.Shutdown(ctx)
	c, err := mq.Open(ctx, "mem://untraced", mq.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	handled := make(chan trace.SpanContext, 1)
	sub, err := c.Subscribe(ctx, "plain", "g", func(ctx context.Context, _ *mq.Message) error {
		handled <- trace.SpanContextFromContext(ctx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, &mq.Message{Topic: "plain"}); err != nil {
		t.Fatal(err)
	}
	if sc := <-handled; sc.IsValid() {
		t.Fatalf("handler context carries span %v for an untraced message", sc)
	}
	sub.Close()
	if n := len(spans.Ended()); n != 0 {
		t.Fatalf("%d spans for an untraced message, want 0", n)
	}
}

// collectCounters reads reader's counters as "name/outcome" totals.
func collectCounters(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	return otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Kind != otelcheck.Sum {
			return ""
		}
		return p.Metric + "/" + p.Attr("outcome")
	})
}

// TestNewClientNamesProvider: a Client made by NewClient from a provider's
// own constructor names the provider as Open does ("mem"), not by the
// connection's Go type, in its errors and in the mq.provider attribute.
func TestNewClientNamesProvider(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	broker := memmq.NewBroker(nil)
	c, err := mq.NewClient(memmq.New(broker), mq.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Publish(ctx, &mq.Message{Topic: "t"}); err != nil {
		t.Fatal(err)
	}
	broker.SetReachable(false)
	err = c.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "via mem:") {
		t.Errorf("Ping of an unreachable broker: %v; want it to name the provider as \"via mem\"", err)
	}
	seen := 0
	for _, p := range otelcheck.Points(t, reader) {
		if p.Metric == "mq.published" {
			if prov := p.Attr("mq.provider"); prov != "mem" {
				t.Errorf("mq.published has mq.provider=%q, want \"mem\"", prov)
			}
			seen++
		}
	}
	if seen == 0 {
		t.Error("no mq.published data point")
	}
}
