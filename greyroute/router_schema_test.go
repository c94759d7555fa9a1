package greyroute_test

import (
	"context"
	"testing"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestRouterNegativeSchemaIgnored: a tenant schema no Admin writes (a
// negative one, set by hand) is ignored as if absent — on a service with
// no requirement (whose Picks do not look schemas up) and on one with a
// requirement alike — rather than refusing the tenant even stable.
func TestRouterNegativeSchemaIgnored(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	for _, s := range []string{"plain", "gated"} {
		register(t, a, s, "v1", s+"-a1")
		register(t, a, s, "v2", s+"-b1")
		must(t, a.SetStable(ctx, s, "v1"))
	}
	must(t, a.RequireSchema(ctx, "gated", "v2", 1))
	must(t, a.SetRollout(ctx, "gated", greyroute.Rollout{To: "v2", Percent: 100}))
	must(t, a.SetSchema(ctx, "other", 1)) // announces the tenants' table
	must(t, c.HSet(ctx, "greyroute:{tenants}:schema", "odd", "-5").Err())
	must(t, a.SetSchema(ctx, "other", 2)) // and again, with the hand-written value in it
	l.rev(t, "plain", revOf(t, a, "plain"))
	l.rev(t, "gated", revOf(t, a, "gated"))
	l.rev(t, "{tenants}", tenantsRev(t, c))
	if v := pickVersion(t, r, "odd", "plain"); v != "v1" {
		t.Errorf("plain: picked %s, want v1", v)
	}
	if v := pickVersion(t, r, "odd", "gated"); v != "v1" {
		t.Errorf("gated: picked %s, want v1 (the rollout's v2 needs schema 1)", v)
	}
	if v := pickVersion(t, r, "other", "gated"); v != "v2" {
		t.Errorf("gated, tenant with schema 2: picked %s, want v2", v)
	}
}
