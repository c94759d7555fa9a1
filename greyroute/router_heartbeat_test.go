package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestHeartbeatsAreQuiet: heartbeats (and a Register that only moves a
// live instance's expiry later) publish no event and make no Router
// reload; yet an instance that stops heartbeating leaves all three
// Routers once its expiry passes by their clock, and one that heartbeated
// stays. A new registration, one of an expired instance, and an expiry
// moved earlier are announced.
func TestHeartbeatsAreQuiet(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	clk := newClock()
	a := newAdmin(t, c, clk)
	events := subscribe(t, c, greyroute.DefaultPrefix)
	var rs []*greyroute.Router
	var ls []*loads
	var wakes []chan struct{}
	for range 3 {
		w := make(chan struct{})
		r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithClock(clk.Now), greyroute.WithExpiryWake(w))
		rs, ls, wakes = append(rs, r), append(ls, l), append(wakes, w)
	}
	in := func(id string) greyroute.Instance {
		return greyroute.Instance{ID: id, Service: "s", Version: "v1", Addr: id + ":80"}
	}
	must(t, a.Register(ctx, in("i1"), 10*time.Second))
	expect(t, events, "s 1")
	must(t, a.Register(ctx, in("i2"), 10*time.Second))
	expect(t, events, "s 2")
	must(t, a.SetStable(ctx, "s", "v1"))
	expect(t, events, "s 3")
	var before []int
	for _, l := range ls {
		l.rev(t, "s", 3)
		l.mu.Lock()
		before = append(before, l.count["s"])
		l.mu.Unlock()
	}

	for range 5 {
		clk.Advance(time.Second)
		must(t, a.Heartbeat(ctx, "s", "i1", 10*time.Second)) // i1 now lives to +15s
	}
	must(t, a.Register(ctx, in("i1"), 10*time.Second)) // unchanged, same expiry: a heartbeat
	clk.Advance(time.Millisecond)
	must(t, a.Register(ctx, in("i1"), 10*time.Second)) // unchanged, later expiry: a heartbeat
	must(t, a.SetFallback(ctx, "s", "v1"))             // a marker: the next event must be its own
	expect(t, events, "s 4")
	for i, l := range ls {
		l.rev(t, "s", 4)
		l.mu.Lock()
		n := l.count["s"]
		l.mu.Unlock()
		if n != before[i]+1 {
			t.Fatalf("router %d loaded s %d times for the heartbeats and the marker, want once", i, n-before[i])
		}
	}

	// +10s: i2's expiry passes (it never heartbeated); i1 lives to +15s.
	clk.Advance(5*time.Second - time.Millisecond)
	wake := func() {
		t.Helper()
		for i, w := range wakes {
			ls[i].mu.Lock()
			n := ls[i].count["s"]
			ls[i].mu.Unlock()
			w <- struct{}{}
			ls[i].until(t, "a reload of s", func(_ map[string]int64, c map[string]int) bool { return c["s"] > n })
		}
	}
	wake()
	for i, r := range rs {
		for range 20 {
			inst, err := r.Pick(ctx, "t", "s")
			if err != nil || inst.ID != "i1" {
				t.Fatalf("router %d after i2's expiry: %+v, %v; want i1", i, inst, err)
			}
			r.Done(inst, nil, time.Millisecond)
		}
	}
	// +15.001s: i1 (last registered at +5.001s) stopped heartbeating too.
	clk.Advance(5*time.Second + time.Millisecond)
	wake()
	for i, r := range rs {
		if inst, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
			t.Fatalf("router %d after every expiry: %+v, %v; want ErrNoInstance", i, inst, err)
		}
	}

	must(t, a.Register(ctx, in("i2"), 10*time.Second)) // expired: registering it again is news
	expect(t, events, "s 5")
	must(t, a.Heartbeat(ctx, "s", "i2", time.Second)) // earlier expiry: announced
	expect(t, events, "s 6")
	must(t, a.Register(ctx, in("i3"), 10*time.Second))
	expect(t, events, "s 7")
	for i, l := range ls {
		l.rev(t, "s", 7)
		if v := pickVersion(t, rs[i], "t", "s"); v != "v1" {
			t.Fatalf("router %d: %s", i, v)
		}
	}
}

// TestExpiryTimer: with the real clock and no event at all, a Router
// drops an instance when its expiry passes (its timer for the earliest
// held expiry), and keeps the one that outlives it.
func TestExpiryTimer(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	must(t, a.Register(ctx, greyroute.Instance{ID: "long", Service: "s", Version: "v1", Addr: "long:80"}, time.Hour))
	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, a.Register(ctx, greyroute.Instance{ID: "short", Service: "s", Version: "v1", Addr: "short:80"}, 300*time.Millisecond))
	rev := revOf(t, a, "s")
	l.rev(t, "s", rev)
	seen := map[string]bool{}
	l.until(t, "short's expiry reload", func(_ map[string]int64, _ map[string]int) bool {
		seen = map[string]bool{}
		for range 50 {
			inst, err := r.Pick(ctx, "t", "s")
			if err != nil {
				panic(fmt.Sprint(err))
			}
			seen[inst.ID] = true
			r.Done(inst, nil, time.Millisecond)
		}
		return !seen["short"]
	})
	if !seen["long"] || revOf(t, a, "s") != rev {
		t.Fatalf("picked %v, rev %d→%d: want long alone, no write", seen, rev, revOf(t, a, "s"))
	}
}
