package session_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
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
	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Kind != otelcheck.Sum {
			return ""
		}
		return p.Metric + "/" + p.Attr("outcome")
	})
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
