package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/lock"
)

// TestDoReportsLossFoundAtRelease: the lock is lost while fn runs (here
// wiped, as an expiry during a pause or an eviction would) and nobody
// notices before fn returns nil: the watchdog's next refresh is ttl/3
// away. Do's own Release then finds the lock gone, and Do must say so
// with ErrNotHeld (package doc, # Errors), not report success as if fn
// had released the lock itself.
func TestDoReportsLossFoundAtRelease(t *testing.T) {
	ctx := context.Background()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			err := l.Do(ctx, "lost-unseen", 30*time.Second, func(fctx context.Context, lk *lock.Lock) error {
				l.wipe(t, "lost-unseen")
				return nil
			})
			if !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("Do whose lock was lost while fn ran: %v, want ErrNotHeld", err)
			}
		})
	}
}
