package greyroute_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// failUntil fails picks of tenant "t" on r until instance id is picked
// (and failed once); the others succeed.
func failUntil(t *testing.T, r *greyroute.Router, id string) {
	t.Helper()
	for range 100 {
		inst, err := r.Pick(context.Background(), "t", "s")
		must(t, err)
		if inst.ID == id {
			r.Done(inst, errors.New("boom"), time.Millisecond)
			return
		}
		r.Done(inst, nil, time.Millisecond)
	}
	t.Fatalf("%s never picked", id)
}

// TestReviewReportStaleAfterReturn: a Router reported a1's breaker open;
// a1 then left the table (deregistered: its breaker went with it) and
// came back under the same ID, as a redeployed instance does. The
// Router's breaker for it is a new, closed one — so the page must not
// keep showing the old "open" report (for up to 24h).
func TestReviewReportStaleAfterReturn(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "s", "v1", "a1", "a2")
	must(t, a.SetStable(ctx, "s", "v1"))
	rep := make(reports, 1)
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRouterID("r1"),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}),
		greyroute.WithReportHook(rep.hook))
	l.rev(t, "s", revOf(t, a, "s"))
	failUntil(t, r, "a1")
	rep.wait(t, "a1 open")
	if br, err := a.Breakers(ctx, "s"); err != nil || len(br["a1"]) != 1 {
		t.Fatalf("a1 not reported open: %v %v", br, err)
	}
	must(t, a.Deregister(ctx, "s", "a1"))
	l.rev(t, "s", revOf(t, a, "s"))
	register(t, a, "s", "v1", "a1")
	l.rev(t, "s", revOf(t, a, "s"))
	// a1 is picked again: its breaker in r is closed.
	seen := false
	for range 10 {
		inst, err := r.Pick(ctx, "t", "s")
		must(t, err)
		seen = seen || inst.ID == "a1"
		r.Done(inst, nil, time.Millisecond)
	}
	if !seen {
		t.Fatal("a1 never picked after it came back")
	}
	rep.wait(t, "a1's new, closed breaker")
	if br, err := a.Breakers(ctx, "s"); err != nil || len(br) != 0 {
		t.Fatalf("a1 came back with a closed breaker, the page still shows: %+v %v", br, err)
	}
}

// TestReviewReportAtomic: a Router in Atomic mode reports its breakers
// as a local one does — also the breaker of an instance its table does
// not list yet (a Pick made it: the script saw the instance before the
// Router's reload did).
func TestReviewReportAtomic(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "s", "v1", "a1", "a2")
	must(t, a.SetStable(ctx, "s", "v1"))
	p := testserver.NewRedisProxy(t, srv.Addr)
	rep := make(reports, 1)
	l := newLoads()
	r, err := greyroute.NewRouter(standalone(t, p.Addr(), nil), greyroute.WithAtomic(), greyroute.WithLoadHook(l.hook),
		greyroute.WithRouterID("r1"), greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}),
		greyroute.WithReportHook(rep.hook), greyroute.WithBalancer("s", greyroute.RoundRobin()))
	must(t, err)
	t.Cleanup(func() { r.Close() })
	l.rev(t, "s", revOf(t, a, "s"))
	// The Router's reload of a3 is held back; its Picks see a3 at once.
	h := p.Hold(func(cmd []byte) bool { return bytes.Contains(cmd, []byte("multi")) })
	register(t, a, "s", "v1", "a3")
	select {
	case <-h.Holding():
	case <-time.After(patience):
		t.Fatal("no reload held")
	}
	failUntil(t, r, "a3")
	h.Release()
	rep.wait(t, "a3 open")
	br, err := a.Breakers(ctx, "s")
	must(t, err)
	if len(br["a3"]) != 1 || br["a3"][0].State != "open" {
		t.Fatalf("Atomic mode: a3's open breaker not reported: %+v", br)
	}
}
