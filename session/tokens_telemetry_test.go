package session_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/groundwork-go/groundwork/session"
)

func TestTokenMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	m := newTokenManager(t, session.NewMemoryStore(), session.WithSigningKey("k", edKey(t)), session.WithMeterProvider(mp))
	ctx := context.Background()
	access, refresh := issue(t, m, alice)
	_, _ = m.VerifyToken(ctx, "garbage")
	_, _, _ = m.RefreshToken(ctx, refresh)
	_, _, _ = m.RefreshToken(ctx, refresh)
	_ = access
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if s, ok := md.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					o, _ := dp.Attributes.Value("outcome")
					got[md.Name+"/"+o.AsString()] = dp.Value
				}
			}
		}
	}
	for k, want := range map[string]int64{
		"session.tokens.issued/ok":        1,
		"session.tokens.verified/invalid": 1,
		"session.tokens.refreshed/ok":     1,
		"session.tokens.refreshed/reused": 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %d; want %d (all: %v)", k, got[k], want, got)
		}
	}
}
