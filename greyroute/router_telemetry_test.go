package greyroute_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestRouterPicksVia: greyroute.picks counts ok picks by how the version
// was chosen (pin, rollout, stable — a schema-gated pin served by stable
// counts as stable), fallback picks as via fallback, errors without via;
// and the counting allocates nothing.
func TestRouterPicksVia(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithMeterProvider(mp))
	register(t, a, "s", "v1", "a1")
	register(t, a, "s", "v2", "b1")
	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 100}))
	must(t, a.RequireSchema(ctx, "s", "v3", 5))
	must(t, a.SetSchema(ctx, "ready", 5))
	must(t, a.Pin(ctx, "ready", "s", "v3")) // no v3 instance: the fallback serves it
	must(t, a.SetFallback(ctx, "s", "v1"))
	must(t, a.Pin(ctx, "p", "s", "v2"))
	must(t, a.SetSchema(ctx, "low", 1)) // a pin to v3 gated: stable
	c.HSet(ctx, "greyroute:{s}:pins", "low", "v3")
	must(t, a.Pin(ctx, "bump", "s", "v1")) // a write after the raw HSET: an event
	l.rev(t, "s", revOf(t, a, "s"))
	l.rev(t, "{tenants}", tenantsRev(t, c))

	pick := func(tenant, service string) {
		if inst, err := r.Pick(ctx, tenant, service); err == nil {
			r.Done(inst, nil, time.Millisecond)
		}
	}
	for range 3 {
		pick("p", "s") // pin
	}
	pick("bump", "s") // pin
	for range 2 {
		pick("anyone", "s") // rollout 100%
	}
	pick("ready", "s")  // fallback
	pick("t", "nosuch") // error
	must(t, a.SetRollout(ctx, "s", greyroute.Rollout{Percent: 0}))
	l.rev(t, "s", revOf(t, a, "s"))
	pick("anyone", "s") // stable
	pick("low", "s")    // its pin gated, no rollout: stable

	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric != "greyroute.picks" {
			return ""
		}
		return p.Attr("outcome") + "/" + p.Attr("via")
	})
	want := map[string]int64{"ok/pin": 4, "ok/rollout": 2, "ok/stable": 2, "fallback/fallback": 1, "error/": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("greyroute.picks %s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { pick("p", "s") }); n != 0 {
		t.Errorf("a counted Pick+Done: %v allocs, want 0", n)
	}
}
