package greyroute_test

import (
	"context"
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestAtomicAutoRollback: in Atomic mode, the calls a Router picked on a
// failing canary feed its auto-rollback as in local mode: the rollout
// ends, and the canary's tenants are sent to the stable version by the
// next Picks.
func TestAtomicAutoRollback(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	w := newWatch()
	l := newLoads()
	opts := append(w.options(greyroute.RollbackPolicy{Threshold: 0.5, MinRequests: 10}), greyroute.WithClock(clk.Now))
	r, _ := atomicRouter(t, standalone(t, srv.Addr, nil), l, opts...)
	rev := revOf(t, a, "orders")
	l.rev(t, "orders", rev)
	in := tenantsOf("orders", true, 3)
	calls(t, r, "orders", "v2", in, 10, errCall)
	w.status(t, "orders ok")
	if e := w.event(t); e.Version != "v2" || e.Requests != 10 || e.Failures != 10 {
		t.Fatalf("event %+v, want v2 with 10 failures of 10", e)
	}
	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tab.RolloutTo != "" {
		t.Fatalf("rollout after the rollback: to %q", tab.RolloutTo)
	}
	// The script reads the route in Redis: no need to wait for a reload.
	calls(t, r, "orders", "v1", in, 3, nil)
}

// TestAtomicAutoRollbackBreakerOpen: as TestAutoRollbackBreakerOpen in
// Atomic mode — a Pick that resolved to the canary and found none of its
// instances available (its breaker open) counts as a failure.
func TestAtomicAutoRollbackBreakerOpen(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	w := newWatch()
	l := newLoads()
	r, _ := atomicRouter(t, standalone(t, srv.Addr, nil), l, greyroute.WithAutoRollback(greyroute.RollbackPolicy{
		OnRollback: func(e greyroute.RollbackEvent) { w.events <- e }}), greyroute.WithRollbackHook(w.hook), greyroute.WithClock(clk.Now))
	l.rev(t, "orders", revOf(t, a, "orders"))
	in := tenantsOf("orders", true, 3)
	calls(t, r, "orders", "v2", in, 5, errCall) // the default breaker opens after 5 failures in a row
	for i := range 15 {
		if _, err := r.Pick(ctx, in[i%len(in)], "orders"); !errors.Is(err, greyroute.ErrNoInstance) {
			t.Fatalf("pick with the canary's breaker open: %v, want ErrNoInstance", err)
		}
	}
	w.status(t, "orders ok")
	if e := w.event(t); e.Requests != 20 || e.Failures != 20 {
		t.Fatalf("event %+v, want 20 failures of 20", e)
	}
	calls(t, r, "orders", "v1", in, 3, nil)
}

// TestAtomicRollbackCountsAsLocal: a local and an Atomic-mode Router
// count the same Picks in the canary's window when the canary has no
// available instance (its only one unhealthy): with no fallback (the
// Pick fails) and with one (the fallback serves); Picks of other
// versions never count.
func TestAtomicRollbackCountsAsLocal(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	must(t, a.SetHealth(ctx, "orders", "orders-b1", 10))
	pol := greyroute.WithAutoRollback(greyroute.RollbackPolicy{MinRequests: 1000})
	local, ll := newRouter(t, standalone(t, srv.Addr, nil), pol, greyroute.WithClock(clk.Now))
	la := newLoads()
	at, _ := atomicRouter(t, standalone(t, srv.Addr, nil), la, pol, greyroute.WithClock(clk.Now))
	in, out := tenantsOf("orders", true, 3), tenantsOf("orders", false, 3)
	sync := func() {
		rev := revOf(t, a, "orders")
		ll.rev(t, "orders", rev)
		la.rev(t, "orders", rev)
	}
	sync()
	for _, r := range []*greyroute.Router{local, at} {
		for i := range 4 {
			if _, err := r.Pick(ctx, in[i%3], "orders"); !errors.Is(err, greyroute.ErrNoInstance) {
				t.Fatalf("canary unhealthy, no fallback: %v", err)
			}
			inst, err := r.Pick(ctx, out[i%3], "orders")
			must(t, err)
			r.Done(inst, nil, 0)
		}
	}
	must(t, a.SetFallback(ctx, "orders", "v1"))
	sync()
	for _, r := range []*greyroute.Router{local, at} {
		for i := range 3 {
			inst, err := r.Pick(ctx, in[i], "orders")
			must(t, err)
			if inst.Version != "v1" {
				t.Fatalf("fallback: picked %s", inst.Version)
			}
			r.Done(inst, nil, 0)
		}
	}
	lc, lf, _ := greyroute.RollbackTally(local, "orders")
	ac, af, _ := greyroute.RollbackTally(at, "orders")
	if lc != 7 || lf != 7 || ac != lc || af != lf {
		t.Fatalf("canary window: local %d/%d, atomic %d/%d; want 7 failures of 7 each", lf, lc, af, ac)
	}
}
