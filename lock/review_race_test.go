package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// TestConcurrentReleaseWithWatchdog: two Releases of one watched Lock at
// once (fn releasing it from a goroutine while Do releases it, or a
// shutdown path racing a deferred Release) must not panic. The second
// Release is driven into the window where the first has decided to stop
// the watchdog but not yet done so; before, both then closed the
// watchdog's channel: "close of closed channel", a crash of the process.
// One Release frees the lock, the other says ErrNotHeld.
func TestConcurrentReleaseWithWatchdog(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	ctx := context.Background()
	lk, err := l.Obtain(ctx, "twice", 10*time.Second, lock.WithWatchdog())
	if err != nil {
		t.Fatal(err)
	}
	var inner error
	entered := false
	restore := lock.SetStoppingWatchdog(func() {
		if !entered {
			entered = true
			inner = noPanic(func() error { return lk.Release(ctx) })
		}
	})
	defer restore()
	outer := noPanic(func() error { return lk.Release(ctx) })
	if !entered {
		t.Fatal("the hook never ran: Release no longer stops a watchdog there")
	}
	if inner != nil || !errors.Is(outer, lock.ErrNotHeld) {
		t.Fatalf("Releases racing: first %v, second %v: want one nil, the other ErrNotHeld", inner, outer)
	}
	if _, err := l.Holder(ctx, "twice"); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("lock held after Release: %v", err)
	}
}

// TestRefreshRacingLocalExpiry: a Refresh that holds the lock's mutex
// (its round trip under way) when the local-expiry timer fires succeeds
// in Redis, which still holds the lock: the expiry waiting for the mutex
// must then not end the lock. Before, it did: Refresh returned nil yet
// the Lock counted as lost ("reached its ttl without a refresh"), and
// Release, seeing it ended, left the key held in Redis for the new ttl.
// The timer's work is handed to the test and run after the Refresh, the
// order the mutex imposes in that race.
func TestRefreshRacingLocalExpiry(t *testing.T) {
	rdb := client(t, testserver.StartRedis(t, nil).Addr)
	l := lock.New(rdb)
	ctx := context.Background()
	fired := make(chan func(), 4) // a Refresh re-arms the timer
	defer lock.SetExpiry(func(expire func()) { fired <- expire })()
	lk, err := l.Obtain(ctx, "race-expiry", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var expire func()
	select {
	case expire = <-fired:
	case <-time.After(patience):
		t.Fatal("the local expiry never fired")
	}
	// The local expiry comes a drift (1% + 2ms) before Redis's: the
	// window where the Refresh reaches Redis in time. Widened here, so
	// that the round trip's speed does not decide the test.
	if err := rdb.PExpire(ctx, "lock:{race-expiry}", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := lk.Refresh(ctx, time.Minute); err != nil {
		t.Fatalf("Refresh of a lock Redis still holds: %v", err)
	}
	expire() // the timer's work, which waited for the mutex
	if lk.Context().Err() != nil {
		t.Errorf("a lock refreshed in time ended: %v", context.Cause(lk.Context()))
	}
	if err := lk.Release(ctx); err != nil {
		t.Errorf("Release of the refreshed lock: %v", err)
	}
	if _, err := l.Holder(ctx, "race-expiry"); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("the refreshed lock is still held in Redis after Release: %v", err)
	}
}
