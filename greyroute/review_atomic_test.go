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

// TestReviewAtomicPicksByVia: an Atomic-mode Router's ok picks are
// reported in greyroute.picks by via, as a local Router's are (they were
// counted where no instrument read them: every ok pick went unreported).
func TestReviewAtomicPicksByVia(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	canary(t, a, "orders") // stable v1, 50% to v2
	must(t, a.Pin(ctx, "pinned", "orders", "v2"))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	r, _ := atomicRouter(t, c, newLoads(), greyroute.WithMeterProvider(mp))
	for _, tn := range []string{"pinned", tenantsOf("orders", true, 1)[0], tenantsOf("orders", false, 1)[0]} {
		inst, err := r.Pick(ctx, tn, "orders")
		must(t, err)
		r.Done(inst, nil, time.Millisecond)
	}
	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric != "greyroute.picks" {
			return ""
		}
		return p.Attr("outcome") + "/" + p.Attr("via")
	})
	for _, k := range []string{"ok/pin", "ok/rollout", "ok/stable"} {
		if got[k] != 1 {
			t.Errorf("greyroute.picks %s = %d, want 1 (all: %v)", k, got[k], got)
		}
	}
}
