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
