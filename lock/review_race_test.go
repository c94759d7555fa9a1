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
