package lock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

type ctxKey struct{}

var (
	errWork = errors.New("work failed")
	errStop = errors.New("the caller stopped")
)

// done waits for ctx to end, failing t if it does not within patience.
func done(t *testing.T, what string, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(patience):
		t.Fatalf("%s was not cancelled", what)
	}
}

// TestDo: fn runs holding the lock, on one instance, a Cluster and Redlock
// alike. It gets the Lock, so the fencing token, and a live context that
// carries the caller's values; Do returns fn's error and leaves the lock
// free. Per-call options apply to Do as to Obtain.
func TestDo(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller's")
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			before, err := l.Obtain(ctx, "do", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := before.Release(ctx); err != nil {
				t.Fatal(err)
			}
			ran := false
			err = l.Do(ctx, "do", 10*time.Second, func(fctx context.Context, lk *lock.Lock) error {
				ran = true
				if lk == nil || lk.Token() <= before.Token() {
					t.Errorf("fn got lock %v: want one with a token above the last holder's %d", lk, before.Token())
					return errWork
				}
				if fctx.Err() != nil || fctx.Value(ctxKey{}) != "caller's" {
					t.Errorf("fn's ctx: err %v, value %v: want live, with the caller's values", fctx.Err(), fctx.Value(ctxKey{}))
				}
				if meta, err := l.Holder(ctx, "do"); err != nil || meta != "do's holder" {
					t.Errorf("Holder inside Do: %q %v, want the WithMetadata given to Do", meta, err)
				}
				if _, err := l.Obtain(ctx, "do", time.Second); !errors.Is(err, lock.ErrNotObtained) {
					t.Errorf("the lock was free inside Do: %v", err)
				}
				return errWork
			}, lock.WithMetadata("do's holder"))
			if !ran || err != errWork {
				t.Fatalf("Do: ran %v, err %v, want fn's error as it is", ran, err)
			}
			if _, err := l.Holder(ctx, "do"); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("lock held after Do: %v", err)
			}
		})
	}
}

// TestDoEndsFnOnEither: fn's context ends when the caller's does (the lock
// is still held until fn returns, then released) and when the lock is
// lost (its cause wraps ErrLost, and Do then reports ErrNotHeld). fn may
// release the lock itself.
func TestDoEndsFnOnEither(t *testing.T) {
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			t.Run("caller's ctx ends", func(t *testing.T) {
				cctx, cancel := context.WithCancelCause(ctx)
				defer cancel(nil)
				err := l.Do(cctx, "either", 10*time.Second, func(fctx context.Context, lk *lock.Lock) error {
					cancel(errStop)
					done(t, "fn's ctx after the caller's ended", fctx)
					if cause := context.Cause(fctx); cause != errStop {
						t.Errorf("fn's ctx cause %v, want the caller's", cause)
					}
					if lk.Context().Err() != nil {
						t.Errorf("the lock ended with the caller's ctx: %v", context.Cause(lk.Context()))
					}
					if _, err := l.Obtain(ctx, "either", time.Second); !errors.Is(err, lock.ErrNotObtained) {
						t.Errorf("the lock was free while fn still ran: %v", err)
					}
					return fctx.Err()
				})
				if err != context.Canceled {
					t.Fatalf("Do: %v, want fn's context.Canceled", err)
				}
				if _, err := l.Holder(ctx, "either"); !errors.Is(err, lock.ErrNotHeld) {
					t.Fatalf("lock held after Do whose ctx ended: %v", err)
				}
			})
			t.Run("lock lost", func(t *testing.T) {
				err := l.Do(ctx, "either", 10*time.Second, func(fctx context.Context, lk *lock.Lock) error {
					l.wipe(t, "either")
					// Refresh finds it gone (the watchdog would, ttl/3 later).
					if err := lk.Refresh(ctx, 10*time.Second); !errors.Is(err, lock.ErrNotHeld) {
						t.Errorf("Refresh of a wiped lock: %v, want ErrNotHeld", err)
					}
					done(t, "fn's ctx after the lock was lost", fctx)
					if cause := context.Cause(fctx); !errors.Is(cause, lock.ErrLost) {
						t.Errorf("fn's ctx cause %v, want one wrapping ErrLost", cause)
					}
					return nil
				})
				if !errors.Is(err, lock.ErrNotHeld) {
					t.Fatalf("Do whose lock was lost while fn ran: %v, want ErrNotHeld", err)
				}
			})
			t.Run("fn releases", func(t *testing.T) {
				err := l.Do(ctx, "either", 10*time.Second, func(fctx context.Context, lk *lock.Lock) error {
					if err := lk.Release(fctx); err != nil {
						return err
					}
					done(t, "fn's ctx after fn released the lock", fctx)
					return nil
				})
				if err != nil {
					t.Fatalf("Do whose fn released the lock: %v, want nil", err)
				}
			})
		})
	}
}

func TestDoBadInput(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	ctx := context.Background()
	if err := l.Do(ctx, "k", time.Second, nil); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), "nil fn") {
		t.Errorf("Do with a nil fn: %v, want ErrInvalid naming it", err)
	}
	ran := false
	fn := func(context.Context, *lock.Lock) error { ran = true; return nil }
	if err := l.Do(ctx, "k", time.Second, fn, lock.WithKeyPrefix("x:")); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), "WithKeyPrefix") {
		t.Errorf("Do with a Locker-wide option: %v, want ErrInvalid naming it", err)
	}
	if ran {
		t.Error("fn ran despite the bad input")
	}
	if _, err := l.Holder(ctx, "k"); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("lock held after Do refused its input: %v", err)
	}
}

// TestLockContextOutlivesObtainCtx: Obtain's ctx bounds the obtaining
// only. Ending it after Obtain returned leaves Lock.Context live and the
// lock held and refreshed by its watchdog; Release, or losing the lock,
// cancels Lock.Context.
func TestLockContextOutlivesObtainCtx(t *testing.T) {
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			octx, cancel := context.WithCancel(ctx)
			const ttl = 3 * time.Second
			lk, err := l.Obtain(octx, "outlives", ttl, lock.WithWatchdog())
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			// Two watchdog refreshes seen in Redis: the lock is kept, not
			// just not yet expired.
			for range 2 {
				last, _ := l.raw[0].PTTL(ctx, "lock:{outlives}").Result()
				waitFor(t, "a watchdog refresh after Obtain's ctx ended", func() bool {
					if lk.Context().Err() != nil {
						t.Fatalf("Lock.Context ended after Obtain's ctx did: %v", context.Cause(lk.Context()))
					}
					now, _ := l.raw[0].PTTL(ctx, "lock:{outlives}").Result()
					refreshed := now > last
					last = now
					return refreshed
				})
			}
			if _, err := l.Obtain(ctx, "outlives", ttl); !errors.Is(err, lock.ErrNotObtained) {
				t.Fatalf("the lock was free after its Obtain's ctx ended: %v", err)
			}
			if lk.Context().Err() != nil {
				t.Fatalf("Lock.Context ended: %v", context.Cause(lk.Context()))
			}
			if err := lk.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if lk.Context().Err() == nil || errors.Is(context.Cause(lk.Context()), lock.ErrLost) {
				t.Fatalf("after Release, Lock.Context: err %v, cause %v: want cancelled, not as lost", lk.Context().Err(), context.Cause(lk.Context()))
			}

			octx, cancel = context.WithCancel(ctx)
			lost, err := l.Obtain(octx, "outlives", ttl)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			l.wipe(t, "outlives")
			if err := lost.Refresh(ctx, ttl); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("Refresh of a wiped lock: %v", err)
			}
			if cause := context.Cause(lost.Context()); !errors.Is(cause, lock.ErrLost) {
				t.Fatalf("a lost lock's Context: cause %v, want one wrapping ErrLost", cause)
			}
		})
	}
}

// TestJoin: Join's context carries the caller's values and ends with the
// caller's ctx (the lock stays held), with the lock's end (its cause), or
// with stop.
func TestJoin(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller's")
	lk, err := l.Obtain(ctx, "join", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithCancelCause(ctx)
	j, stop := lk.Join(cctx)
	defer stop()
	if j.Err() != nil || j.Value(ctxKey{}) != "caller's" {
		t.Fatalf("joined ctx: err %v, value %v: want live, with the caller's values", j.Err(), j.Value(ctxKey{}))
	}
	cancel(errStop)
	if j.Err() == nil || context.Cause(j) != errStop {
		t.Fatalf("joined ctx after the caller's ended: err %v, cause %v", j.Err(), context.Cause(j))
	}
	if lk.Context().Err() != nil {
		t.Fatalf("the lock ended with the caller's ctx: %v", context.Cause(lk.Context()))
	}

	s, stopS := lk.Join(ctx)
	stopS()
	if s.Err() != context.Canceled {
		t.Fatalf("joined ctx after stop: %v", s.Err())
	}

	r, stopR := lk.Join(ctx)
	defer stopR()
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
	done(t, "the joined ctx after Release", r)
	if got, want := context.Cause(r), context.Cause(lk.Context()); got != want {
		t.Fatalf("joined ctx cause %v, want the lock's, %v", got, want)
	}

	z, stopZ := new(lock.Lock).Join(ctx)
	defer stopZ()
	if !errors.Is(context.Cause(z), lock.ErrInvalid) {
		t.Fatalf("Join on a Lock not from Obtain: cause %v, want ErrInvalid", context.Cause(z))
	}
}
