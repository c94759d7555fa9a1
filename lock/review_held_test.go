package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// ownDone is a caller's context of a type the context package does not
// know, for which context.WithCancelCause must start a goroutine.
type ownDone struct {
	context.Context
	done chan struct{}
}

func (c ownDone) Done() <-chan struct{} { return c.done }

// TestJoinStopTwiceOrNever: Join's stop may be called twice; never
// calling it leaks nothing once the lock has ended, even under a caller's
// context that makes the context package start a goroutine.
func TestJoinStopTwiceOrNever(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	ctx := context.Background()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	lk, err := l.Obtain(ctx, "join-stop", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	caller := ownDone{ctx, make(chan struct{})}
	twice, stop := lk.Join(caller)
	stop()
	stop()
	if context.Cause(twice) != context.Canceled {
		t.Fatalf("joined ctx after stop: cause %v", context.Cause(twice))
	}
	never, _ := lk.Join(caller) // stop deliberately never called
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
	done(t, "the never-stopped joined ctx after Release", never)
}

// TestDoOptionsLastWins: options given twice to Do apply in order, the
// last one winning, and the Locker's own are overridden for that lock
// only.
func TestDoOptionsLastWins(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr), lock.WithMetadata("locker's"))
	ctx := context.Background()
	err := l.Do(ctx, "twice", 10*time.Second, func(_ context.Context, lk *lock.Lock) error {
		if lk.Metadata() != "second" {
			t.Errorf("metadata %q, want the last WithMetadata's", lk.Metadata())
		}
		return nil
	}, lock.WithMetadata("first"), lock.WithMetadata("second"), lock.WithRetry(nil))
	if !errors.Is(err, lock.ErrInvalid) {
		t.Fatalf("Do with a bad option after good ones: %v, want ErrInvalid", err)
	}
	if err := l.Do(ctx, "twice", 10*time.Second, func(_ context.Context, lk *lock.Lock) error {
		if lk.Metadata() != "second" {
			t.Errorf("metadata %q, want the last WithMetadata's", lk.Metadata())
		}
		return nil
	}, lock.WithMetadata("first"), lock.WithMetadata("second")); err != nil {
		t.Fatal(err)
	}
	lk, err := l.Obtain(ctx, "twice", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release(ctx)
	if lk.Metadata() != "locker's" {
		t.Fatalf("metadata after Do %q: the per-call option leaked into the Locker", lk.Metadata())
	}
}
