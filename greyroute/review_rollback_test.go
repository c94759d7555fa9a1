package greyroute_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestReviewRollbackSpareRestartedRollout: a Router decides to roll v2
// back; before its script runs, an operator ends the rollout and starts
// a new one to the same v2 (after fixing it). The script must not end the
// operator's new rollout on the old one's failures: it is told "already".
func TestReviewRollbackSpareRestartedRollout(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	w := newWatch()
	held, release := make(chan struct{}), make(chan struct{})
	w.before = func(greyroute.RollbackEvent) { close(held); <-release }
	r, l := newRouter(t, standalone(t, srv.Addr, nil), append(w.options(greyroute.RollbackPolicy{}), greyroute.WithClock(clk.Now))...)
	l.rev(t, "orders", revOf(t, a, "orders"))
	calls(t, r, "orders", "v2", tenantsOf("orders", true, 3), 20, errCall)
	select {
	case <-held:
	case <-time.After(patience):
		t.Fatal("no rollback attempted")
	}
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 0}))
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 50}))
	rev := revOf(t, a, "orders")
	close(release)
	w.status(t, "orders already")
	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tab.RolloutTo != "v2" || tab.RolloutBP != 5000 || tab.Rev != rev || tab.LastRollback != nil {
		t.Fatalf("the operator's new rollout was rolled back: %+v", tab)
	}
	if tab.RolloutSince != rev {
		t.Fatalf("RolloutSince = %d, want %d (the rev the rollout was set again at)", tab.RolloutSince, rev)
	}
}

// TestReviewRollbackWindowOfRestartedRollout: a Router that never saw a
// rollout end (its events were lost; it resynced straight to the new
// one, to the same version) must not count the old rollout's failures
// against the new one.
func TestReviewRollbackWindowOfRestartedRollout(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true, FsyncAlways: true})
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	w := newWatch()
	gate := make(chan struct{})
	var once sync.Once
	r, l := newRouter(t, standalone(t, srv.Addr, &redis.Options{MaxRetries: -1}),
		append(w.options(greyroute.RollbackPolicy{}), greyroute.WithClock(clk.Now),
			greyroute.WithReconnectHook(func() { once.Do(func() { <-gate }) }))...)
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	l.rev(t, "orders", revOf(t, a, "orders"))
	calls(t, r, "orders", "v2", tenantsOf("orders", true, 3), 19, errCall) // one short of MinRequests
	if c, f, ok := greyroute.RollbackTally(r, "orders"); !ok || c != 19 || f != 19 {
		t.Fatalf("tally = %d, %d, %v before", c, f, ok)
	}

	srv.Kill()
	l.until(t, "the outage", func(_ map[string]int64, n map[string]int) bool { return n["stale"] == 1 })
	srv.Restart(t)
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 0})) // unseen by the Router
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 50}))
	rev := revOf(t, a, "orders")
	release()
	l.rev(t, "orders", rev)
	if c, f, _ := greyroute.RollbackTally(r, "orders"); c != 0 || f != 0 {
		t.Fatalf("the new rollout's window holds the old one's calls: %d calls, %d failures", c, f)
	}
	calls(t, r, "orders", "v2", tenantsOf("orders", true, 3), 1, nil)
	if n := w.tripsOf("orders"); n != 0 {
		t.Fatalf("the new rollout tripped on its first call (%d trips)", n)
	}
}
