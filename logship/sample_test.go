package logship

import (
	"context"
	"log/slog"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestSampling(t *testing.T) {
	s, sink := frontShipper(t)
	h := s.Handler(&HandlerOptions{Service: "svc", Sample: &Sampling{First: 3, Thereafter: 4, Interval: time.Minute}})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	emit := func(at time.Time, level slog.Level, msg string) {
		_ = h.Handle(context.Background(), slog.NewRecord(at, level, msg, 0))
	}
	for i := 0; i < 20; i++ {
		emit(t0.Add(time.Duration(i)*time.Second), slog.LevelInfo, "hot")
		emit(t0.Add(time.Duration(i)*time.Second), slog.LevelError, "hot") // never sampled
	}
	emit(t0, slog.LevelInfo, "cold")
	emit(t0.Add(2*time.Minute), slog.LevelInfo, "hot") // a new interval
	counts := map[string]int{}
	for _, r := range sink.all() {
		counts[r.Level.String()+" "+frontDoc(t, r)["message"].(string)]++
	}
	// 20 info "hot": the first 3, then the 7th, 11th, 15th, 19th; +1 next interval.
	if counts["INFO hot"] != 3+4+1 || counts["ERROR hot"] != 20 || counts["INFO cold"] != 1 {
		t.Fatalf("kept %v", counts)
	}
	if got := s.sampledAway(); got != 20-7 {
		t.Fatalf("sampledAway = %d, want 13", got)
	}

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := s.registerFrontMetrics(mp.Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "logship.records.sampled" {
				found = m.Data.(metricdata.Sum[int64]).DataPoints[0].Value == 13
			}
		}
	}
	if !found {
		t.Fatalf("logship.records.sampled missing or wrong: %+v", rm)
	}
}

func TestSamplingZeroThereafter(t *testing.T) {
	sm := newSampler(Sampling{First: 2})
	t0 := time.Unix(100, 0)
	var kept int
	for i := 0; i < 10; i++ {
		if sm.allow(t0, slog.LevelWarn, "m") {
			kept++
		}
	}
	if kept != 2 {
		t.Fatalf("kept %d", kept)
	}
}
