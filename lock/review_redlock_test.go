package lock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// TestRedlockMajorityUnreachableIsNotLoss: with 3 of 5 instances down
// while a lock is held, its holder cannot tell whether the lock is still
// held (the 3 may well still hold it), so Refresh, TTL and Release return
// the instances' errors, not ErrNotHeld: the Lock is not ended, fn's ctx
// in Do stays live, and once the instances are back Refresh works and
// Release frees the lock everywhere. Before, 2 answers out of 5 read as
// "no longer held": the lock counted as lost (reason not_held) and a
// Release left it held on the 3 for its ttl.
func TestRedlockMajorityUnreachableIsNotLoss(t *testing.T) {
	s, c := fiveRedis(t, &testserver.RedisOptions{AppendOnly: true})
	l := redlock(t, c...)
	ctx := context.Background()
	const ttl = time.Minute // no watchdog refresh of its own while this runs
	down := func() {
		for _, x := range s[:3] {
			x.Stop() // SIGTERM: the AOF keeps the lock for the restart
		}
	}
	up := func() {
		for i, x := range s[:3] {
			x.Restart(t)
			waitFor(t, fmt.Sprintf("instance %d to answer again", i), func() bool { return c[i].Ping(ctx).Err() == nil })
		}
	}
	unknown := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, lock.ErrNotHeld) {
			t.Errorf("%s with 3 of 5 instances down: %v, want the instances' errors, not ErrNotHeld", what, err)
		}
	}

	err := l.Do(ctx, "outage", ttl, func(fctx context.Context, lk *lock.Lock) error {
		down()
		unknown("Refresh", lk.Refresh(ctx, ttl))
		_, err := lk.TTL(ctx)
		unknown("TTL", err)
		if fctx.Err() != nil {
			t.Errorf("fn's ctx ended while the lock may be held: %v", context.Cause(fctx))
		}
		up()
		if err := lk.Refresh(ctx, ttl); err != nil {
			t.Errorf("Refresh once the instances are back: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}

	lk, err := l.Obtain(ctx, "outage", ttl)
	if err != nil {
		t.Fatal(err)
	}
	down()
	unknown("Release", lk.Release(ctx))
	up()
	if err := lk.Release(ctx); err != nil {
		t.Fatalf("Release again once the instances are back: %v", err)
	}
	for i, x := range c {
		if n, err := x.Exists(ctx, "lock:{outage}").Result(); n != 0 || err != nil {
			t.Errorf("instance %d still holds the released lock (%d, %v)", i, n, err)
		}
	}
}
