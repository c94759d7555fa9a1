package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/lock"
)

// TestDoWithEndedCtx: Do with a ctx that has already ended does not run
// fn, holds nothing and returns ctx's error as it is (# Errors: context
// errors unwrapped), on one instance, a Cluster and Redlock alike.
func TestDoWithEndedCtx(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			ran := false
			err := l.Do(ended, "ended", 10*time.Second, func(context.Context, *lock.Lock) error { ran = true; return nil })
			if ran || err != context.Canceled {
				t.Fatalf("Do with an ended ctx: ran %v, err %v: want fn not run and context.Canceled as it is", ran, err)
			}
			if _, err := l.Holder(context.Background(), "ended"); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("lock held after Do with an ended ctx: %v", err)
			}
		})
	}
}
