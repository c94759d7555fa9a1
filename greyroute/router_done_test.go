package greyroute_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestRouterDoneTwice: a second Done of the same pick changes nothing —
// not the breaker's count, not the connection count — while other picks
// still count; beyond the tracked slots on one instance, picks still end.
func TestRouterDoneTwice(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	pol := greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour})
	r, l := newRouter(t, standalone(t, srv.Addr, nil), pol)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	l.rev(t, "s", revOf(t, a, "s"))
	boom := errors.New("boom")

	held, err := r.Pick(ctx, "t", "s") // in flight throughout
	must(t, err)
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(inst, boom, time.Millisecond)
	r.Done(inst, boom, time.Millisecond) // the same pick again: ignored
	if n := greyroute.RouterConns(r, "s", "a1"); n != 1 {
		t.Fatalf("conns = %d after a double Done, want 1 (the held pick)", n)
	}
	// One failure counted, not two: the breaker (2 in a row) is closed.
	inst, err = r.Pick(ctx, "t", "s")
	if err != nil {
		t.Fatalf("after one failure Done twice: %v; the breaker counted it twice", err)
	}
	r.Done(inst, boom, time.Millisecond) // the second failure: opens it
	if _, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("after two failures: %v, want ErrNoInstance", err)
	}
	r.Done(held, nil, time.Millisecond)
	r.Done(held, nil, time.Millisecond)
	if n := greyroute.RouterConns(r, "s", "a1"); n != 0 {
		t.Fatalf("conns = %d, want 0", n)
	}

	// Many picks in flight on one instance (more than the tracked slots):
	// every one still ends, and the count returns to zero.
	register(t, a, "many", "v1", "m1")
	must(t, a.SetStable(ctx, "many", "v1"))
	l.rev(t, "many", revOf(t, a, "many"))
	var picks []greyroute.Instance
	for range 200 {
		p, err := r.Pick(ctx, "t", "many")
		must(t, err)
		picks = append(picks, p)
	}
	for _, p := range picks {
		r.Done(p, nil, time.Millisecond)
	}
	for _, p := range picks[:64] { // tracked ones: ignored
		r.Done(p, nil, time.Millisecond)
	}
	if n := greyroute.RouterConns(r, "many", "m1"); n != 0 {
		t.Fatalf("conns = %d after 200 picks ended, want 0", n)
	}
}
