package greyroute_test

import (
	"context"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestReviewDoneTwiceFewInFlight: with only 16 calls in flight on one
// instance — far below the 64 tracked slots — every further pick is still
// tracked, so a second Done of any of them changes nothing. (The tracker
// once looked at only 16 slots from seq mod 64: 16 long calls in a row of
// slots made every 64th pick untracked, and its second Done ended one of
// the long calls' connections.)
func TestReviewDoneTwiceFewInFlight(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	r, l := newRouter(t, standalone(t, srv.Addr, nil), noBreaker)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	l.rev(t, "s", revOf(t, a, "s"))

	const held = 16
	var long []greyroute.Instance
	for range held {
		inst, err := r.Pick(ctx, "t", "s")
		must(t, err)
		long = append(long, inst)
	}
	for i := range 200 {
		inst, err := r.Pick(ctx, "t", "s")
		must(t, err)
		r.Done(inst, nil, time.Millisecond)
		r.Done(inst, nil, time.Millisecond) // the same pick again: ignored
		if n := greyroute.RouterConns(r, "s", "a1"); n != held {
			t.Fatalf("after short call %d ended twice: conns = %d, want %d (the long calls)", i, n, held)
		}
	}
	for _, inst := range long {
		r.Done(inst, nil, time.Millisecond)
	}
	if n := greyroute.RouterConns(r, "s", "a1"); n != 0 {
		t.Fatalf("conns = %d, want 0", n)
	}
}

// TestReviewDoneTwiceAtomic: in Atomic mode too a second Done of the same
// pick does nothing — not to the Router's own count, not to the count
// all Routers share in Redis (which Atomic mode's least-connections reads).
func TestReviewDoneTwiceAtomic(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	r, _ := atomicRouter(t, c, newLoads(), greyroute.WithBalancer("s", greyroute.LeastConnections()), noBreaker)

	held, err := r.Pick(ctx, "t", "s")
	must(t, err)
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(inst, nil, time.Millisecond)
	r.Done(inst, nil, time.Millisecond) // the same pick again: ignored
	if n := greyroute.RouterConns(r, "s", "a1"); n != 1 {
		t.Fatalf("router conns = %d after a double Done, want 1 (the held pick)", n)
	}
	must(t, r.Close()) // its last flush tells Redis of the Dones
	if n, err := c.HGet(ctx, "greyroute:{s}:conns", "a1").Int64(); err != nil || n != 1 {
		t.Fatalf("shared conns of a1 = %d (%v) after a double Done, want 1 (the held pick)", n, err)
	}
	_ = held
}
