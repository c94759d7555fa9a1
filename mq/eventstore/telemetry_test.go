package eventstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/eventstore"
)

// TestMetrics: the counters reach a real OpenTelemetry SDK, and stop
// being reported after Close.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	s, _ := newStore(t, eventstore.NewMemoryBackend(), eventstore.WithMeterProvider(mp))
	mustAppend(t, s, "a", eventstore.Event{Type: "t"}, eventstore.Event{Type: "t"})
	if _, err := s.Append(ctx, "a", 0, eventstore.Event{Type: "t"}); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "", 0, eventstore.Event{Type: "t"}); err == nil {
		t.Fatal("an empty aggregate was accepted")
	}
	mustLoadAll(t, s, "a")
	got := collect(t, reader)
	want := map[string]int64{
		"eventstore.appends/ok": 1, "eventstore.appends/conflict": 1, "eventstore.appends/error": 1,
		"eventstore.events.appended/": 2, "eventstore.events.loaded/": 2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, reader); len(got) != 0 {
		t.Errorf("metrics still reported after Close: %v", got)
	}
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					o, _ := dp.Attributes.Value(attribute.Key("outcome"))
					got[m.Name+"/"+o.AsString()] = dp.Value
				}
			}
		}
	}
	return got
}

// TestPostgresRelayMetrics: the PostgreSQL backend's outbox relay reports
// to the Store's meter provider, not the global one.
func TestPostgresRelayMetrics(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	s, rec := newStore(t, newPostgresBackend(t), eventstore.WithMeterProvider(mp))
	mustAppend(t, s, "a", eventstore.Event{Type: "t"})
	rec.Wait(t, "the event", func(log []driver.Message, _ int) bool { return len(log) >= 1 })
	// The relay counts the row once its round commits, just after the
	// publish: wait for that, with a generous bound.
	deadline := time.Now().Add(60 * time.Second)
	got := collect(t, reader)
	for got["outbox.relayed/sent"] < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		got = collect(t, reader)
	}
	if got["outbox.relayed/sent"] != 1 || got["outbox.enqueued/ok"] != 1 {
		t.Fatalf("outbox metrics on the Store's provider: %v", got)
	}
}
