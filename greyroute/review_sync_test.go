package greyroute_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// corrupt makes every load of service fail the way a hostile (or
// mistaken) operator's write does: one of its keys of the wrong type.
func corrupt(t *testing.T, c redis.UniversalClient, service string) {
	t.Helper()
	key := "greyroute:{" + service + "}:pins"
	must(t, c.Del(context.Background(), key).Err())
	must(t, c.Set(context.Background(), key, "not a hash", 0).Err())
}

// goodServices registers n services of one stable instance each (plus
// one of ttl short, when short > 0) and returns their names.
func goodServices(t *testing.T, a *greyroute.Admin, n int, short time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	var names []string
	for i := range n {
		s := fmt.Sprintf("s%02d", i)
		register(t, a, s, "v1", s+"-long")
		if short > 0 {
			must(t, a.Register(ctx, greyroute.Instance{ID: s + "-short", Service: s, Version: "v1", Addr: "short:80"}, short))
		}
		must(t, a.SetStable(ctx, s, "v1"))
		names = append(names, s)
	}
	return names
}

// TestReviewResyncPastBadService: one service whose table cannot be read
// (a key of the wrong type) must not keep the resync from every other:
// changes whose events were lost still arrive within a resync period.
func TestReviewResyncPastBadService(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "bad", "v1", "b1")
	must(t, a.SetStable(ctx, "bad", "v1"))
	names := goodServices(t, a, 30, 0)
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithResync(100*time.Millisecond))
	_ = r
	corrupt(t, c, "bad")
	// Changes whose events are lost: written without a PUBLISH.
	want := map[string]int64{}
	for _, s := range names {
		route := "greyroute:{" + s + "}:route"
		must(t, c.HSet(ctx, route, "fallback", "v1").Err())
		rev, err := c.HIncrBy(ctx, route, "rev", 1).Result()
		must(t, err)
		want[s] = rev
	}
	l.until(t, "every good service resynced", func(revs map[string]int64, _ map[string]int) bool {
		for s, rev := range want {
			if revs[s] < rev {
				return false
			}
		}
		return true
	})
}

// TestReviewExpiryPastBadService: when held expiries pass, one service
// that cannot be read must not keep the others from being reloaded in
// the same round.
func TestReviewExpiryPastBadService(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	clk := newClock()
	a := newAdmin(t, c, clk)
	register(t, a, "bad", "v1", "b1")
	must(t, a.Register(ctx, greyroute.Instance{ID: "b2", Service: "bad", Version: "v1", Addr: "short:80"}, time.Minute))
	must(t, a.SetStable(ctx, "bad", "v1"))
	names := goodServices(t, a, 30, time.Minute)
	wake := make(chan struct{}) // unbuffered: a send returns when the loader is back waiting
	_, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithClock(clk.Now), greyroute.WithExpiryWake(wake))
	for _, s := range names {
		l.rev(t, s, revOf(t, a, s))
	}
	corrupt(t, c, "bad")
	l.mu.Lock()
	before := map[string]int{}
	for _, s := range names {
		before[s] = l.count[s]
	}
	l.mu.Unlock()
	clk.Advance(2 * time.Minute)
	wake <- struct{}{} // one round of expiry reloads
	wake <- struct{}{} // returns once that round is over
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range names {
		if l.count[s] == before[s] {
			t.Errorf("%s not reloaded when its expiry passed", s)
		}
	}
}
