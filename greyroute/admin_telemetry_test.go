package greyroute_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
)

// TestAdminMetrics checks with the real OpenTelemetry SDK that writes are
// counted by operation and outcome.
func TestAdminMetrics(t *testing.T) {
	noLeaks(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	c := newRedis(t)
	a := newAdmin(t, c, nil, greyroute.WithAdminMeterProvider(mp))

	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, a.SetStable(ctx, "s", "v1"))                                // found done: ok
	_ = a.Heartbeat(ctx, "s", "gone", time.Second)                      // refused
	_ = a.SetRollout(ctx, "s", greyroute.Rollout{To: "v1", Percent: 3}) // refused: the stable version
	_ = a.Pin(ctx, "", "s", "v1")                                       // invalid
	must(t, a.RequireSchema(ctx, "s", "v2", 1))
	_ = a.Pin(ctx, "t", "s", "v2") // refused: schema

	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		return p.Metric + "/" + p.Attr("greyroute.op") + "/" + p.Attr("outcome")
	})
	for k, v := range map[string]int64{
		"greyroute.admin.writes/set_stable/ok":       2,
		"greyroute.admin.writes/heartbeat/refused":   1,
		"greyroute.admin.writes/set_rollout/refused": 1,
		"greyroute.admin.writes/pin/invalid":         1,
		"greyroute.admin.writes/pin/refused":         1,
		"greyroute.admin.writes/require_schema/ok":   1,
		"greyroute.admin.writes/register/ok":         0,
		"greyroute.admin.writes/set_stable/error":    0,
	} {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	must(t, a.Close())
	// After Close the callback is gone: a collection sees no admin points.
	for _, p := range otelcheck.Points(t, reader) {
		if p.Metric == "greyroute.admin.writes" {
			t.Fatalf("admin metrics still reported after Close: %+v", p)
		}
	}
}
