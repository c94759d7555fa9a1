package lock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// errReleased is the cause of the Context of a released lock.
var errReleased = errors.New("lock: released")

// errNoLock is the error of a call on a Lock not returned by Obtain (nil
// or zero), and noLock the Context of such a Lock: ended, for the same
// reason.
var (
	errNoLock = fmt.Errorf("%w: a Lock not returned by Obtain", ErrInvalid)
	noLock    = func() context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errNoLock)
		return ctx
	}()
)

// valid reports whether lk was returned by Obtain.
func (lk *Lock) valid() bool { return lk != nil && lk.ctx != nil }

// Lock is a held lock.
type Lock struct {
	l                      *Locker
	key, lockKey, fenceKey string
	value                  string // random ID, NUL, metadata: what compare scripts check
	ttl                    time.Duration
	cfg                    config
	token                  uint64

	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	deadline time.Time   // local expiry: when the holder can no longer know it holds the lock
	expiry   *time.Timer // cancels ctx at deadline (no watchdog)
	done     bool        // released or lost
	stopDog  chan struct{}
	stopOnce sync.Once // closes stopDog
	dogDone  chan struct{}
}

func (lk *Lock) start(token uint64, validity time.Duration) {
	lk.token = token
	lk.ctx, lk.cancel = context.WithCancelCause(context.Background())
	lk.deadline = time.Now().Add(validity)
	if lk.cfg.watchdog {
		lk.stopDog, lk.dogDone = make(chan struct{}), make(chan struct{})
		go lk.watchdog(lk.ttl / 3) // read here: Refresh may change lk.ttl once lk is returned
		return
	}
	lk.expiry = time.AfterFunc(validity, func() {
		if testHookExpiry != nil {
			testHookExpiry(lk.expire)
			return
		}
		lk.expire()
	})
}

// expire ends the lock at its local expiry, unless a Refresh moved that
// while the timer waited for lk.mu (it re-armed the timer for the new one).
func (lk *Lock) expire() {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if time.Now().Before(lk.deadline) {
		return
	}
	lk.loseLocked(&lk.l.tel.expired, fmt.Errorf("%w: %q reached its ttl without a refresh", ErrLost, lk.key))
}

// testHookExpiry, when set by a test, is given the local-expiry timer's
// work instead of the timer doing it, for the test to run it when it
// chooses (as if the timer had waited for lk.mu that long).
var testHookExpiry func(expire func())

// Key returns the lock's name.
func (lk *Lock) Key() string { return lk.key }

// Token returns the fencing token: strictly greater than that of every
// earlier holder of the key. Pass it to the resource the lock guards, which
// rejects writes carrying a token lower than one it has seen.
func (lk *Lock) Token() uint64 { return lk.token }

// Metadata returns what WithMetadata stored with the lock.
func (lk *Lock) Metadata() string {
	_, meta, _ := strings.Cut(lk.value, "\x00")
	return meta
}

// Context is the lock's own lifetime: it is cancelled when the lock is
// released or lost, and context.Cause says which (errors.Is(cause,
// ErrLost) for a loss): without a watchdog at the lock's local expiry
// (obtain time + validity, moved by Refresh), with one when it cannot be
// refreshed in time. It does not depend on the ctx given to Obtain, which
// bounds only the obtaining, and it carries none of that ctx's values or
// deadline: for work that must stop when the caller's ctx ends too, use
// Join.
func (lk *Lock) Context() context.Context {
	if !lk.valid() {
		return noLock
	}
	return lk.ctx
}

// Join returns a context derived from ctx (its values, deadline and
// cancellation) that is also cancelled when the lock is released or
// lost, with the lock's cause; call stop when the work is done, to
// release what Join set up. Do runs its fn under such a context:
//
//	wctx, stop := lk.Join(ctx)
//	defer stop()
//	err := store.Save(wctx, invoice, lk.Token())
func (lk *Lock) Join(ctx context.Context) (_ context.Context, stop context.CancelFunc) {
	jctx, cancel := context.WithCancelCause(ctx)
	if !lk.valid() {
		cancel(errNoLock)
		return jctx, func() {}
	}
	if lk.ctx.Err() != nil {
		// AfterFunc would cancel jctx only later, from a goroutine: work
		// checking jctx right away must see that the lock has ended.
		cancel(context.Cause(lk.ctx))
		return jctx, func() {}
	}
	after := context.AfterFunc(lk.ctx, func() { cancel(context.Cause(lk.ctx)) })
	return jctx, func() {
		after()
		cancel(context.Canceled)
	}
}

// Refresh extends the lock to ttl from now; ErrNotHeld if it expired or is
// someone else's (and then Context is cancelled). If too few instances
// answer to tell, their error (ctx's as it is), and the lock is kept
// until its local expiry.
func (lk *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	switch {
	case !lk.valid():
		return errNoLock
	case ttl <= 2*drift(ttl):
		return fmt.Errorf("%w: ttl %v: must exceed twice the clock drift allowed for", ErrInvalid, ttl)
	}
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.done {
		return fmt.Errorf("%w: %q was released or lost", ErrNotHeld, lk.key)
	}
	return lk.refreshLocked(ctx, ttl)
}

func (lk *Lock) refreshLocked(ctx context.Context, ttl time.Duration) error {
	start := time.Now()
	n, errs := lk.l.count(ctx, lk, refreshScript, ttl.Milliseconds())
	if n < lk.l.quorum {
		if lk.l.unsure(n, errs) {
			// The instances that failed may still hold it: not a loss
			// yet (the watchdog tries again until the local expiry).
			return failed(ctx, "refresh", lk.key, errs)
		}
		lk.loseLocked(&lk.l.tel.notHeld, fmt.Errorf("%w: %q is no longer held (refresh matched %d instances)", ErrLost, lk.key, n))
		return fmt.Errorf("%w: %q", ErrNotHeld, lk.key)
	}
	lk.ttl = ttl
	lk.deadline = start.Add(ttl - drift(ttl))
	if lk.expiry != nil {
		lk.expiry.Reset(time.Until(lk.deadline))
	}
	return nil
}

// TTL returns how long the lock has left, as the quorum sees it;
// ErrNotHeld if it is not held, the instances' error if too few answer
// to tell.
func (lk *Lock) TTL(ctx context.Context) (time.Duration, error) {
	if !lk.valid() {
		return 0, errNoLock
	}
	// lk.ttl moves with every Refresh, the watchdog's included.
	lk.mu.Lock()
	ttl := lk.ttl
	lk.mu.Unlock()
	return lk.l.pttl(ctx, lk, ttl)
}

// Release gives the lock up; ErrNotHeld if it had expired or was someone
// else's by then. Context is cancelled either way. If too few instances
// could be reached to tell (on Redlock: those that failed could, with
// those that matched, make a quorum), or ctx ended first (its error is
// returned as it is), the lock may still be held until its ttl, and
// Release may be called again.
func (lk *Lock) Release(ctx context.Context) error {
	if !lk.valid() {
		return errNoLock
	}
	lk.stopWatchdog()
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.expiry != nil {
		lk.expiry.Stop()
	}
	if lk.done {
		return fmt.Errorf("%w: %q was already released or lost", ErrNotHeld, lk.key)
	}
	n, errs := lk.l.count(ctx, lk, releaseScript)
	lk.cancel(errReleased)
	if lk.l.unsure(n, errs) {
		// The instances that failed may still hold it, and a later
		// Release (with a live ctx) can still give it up.
		return failed(ctx, "release", lk.key, errs)
	}
	lk.done = true
	if n < lk.l.quorum {
		return fmt.Errorf("%w: %q had expired or changed hands", ErrNotHeld, lk.key)
	}
	return nil
}

// released reports whether Release has given the lock up, as opposed to
// the lock having been lost (or not released yet).
func (lk *Lock) released() bool {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	return lk.done && errors.Is(context.Cause(lk.ctx), errReleased)
}

// failed is the error of an operation too few instances answered to
// tell whether the lock is held: ctx's own error as it is when ctx ended,
// otherwise the instances' errors, the first one wrapped.
func failed(ctx context.Context, op, key string, errs []error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	first := errs[slices.IndexFunc(errs, func(err error) bool { return err != nil })]
	if len(errs) == 1 {
		return fmt.Errorf("lock: %s %q: %w", op, key, first)
	}
	return fmt.Errorf("lock: %s %q: %w (too few instances answered: %s)", op, key, first, summary(errs))
}

// loseLocked cancels the Context with cause and counts the loss under
// why, once.
func (lk *Lock) loseLocked(why *counter, cause error) {
	if !lk.done {
		lk.done = true
		lk.cancel(cause)
		why.add()
	}
}

func (lk *Lock) stopWatchdog() {
	if lk.stopDog == nil {
		return
	}
	// Once: concurrent Releases must not both close it.
	lk.stopOnce.Do(func() { close(lk.stopDog) })
	if testHookStoppingWatchdog != nil {
		testHookStoppingWatchdog()
	}
	<-lk.dogDone
}

// testHookStoppingWatchdog, when set by a test, runs in Release after it
// has told the watchdog to stop and before it waits for it to end: where
// a second Release can come in.
var testHookStoppingWatchdog func()

// watchdog refreshes the lock every ttl/3. A refresh that fails is tried
// again until the local expiry is near; then the lock counts as lost.
func (lk *Lock) watchdog(wait time.Duration) {
	defer close(lk.dogDone)
	var lastErr error
	for {
		t := time.NewTimer(wait)
		select {
		case <-lk.stopDog:
			t.Stop()
			return
		case <-t.C:
		}
		lk.mu.Lock()
		if lk.done {
			lk.mu.Unlock()
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), lk.deadline)
		err := lk.refreshLocked(ctx, lk.ttl)
		cancel()
		switch {
		case err == nil:
			wait, lastErr = lk.ttl/3, nil
		case errors.Is(err, ErrNotHeld):
			lk.mu.Unlock()
			return // refreshLocked cancelled the context with the cause
		default:
			lastErr = err
			left := time.Until(lk.deadline)
			if left <= drift(lk.ttl) {
				lk.loseLocked(&lk.l.tel.unrefresh, fmt.Errorf("%w: %q could not be refreshed before it expired: %v", ErrLost, lk.key, lastErr))
				lk.mu.Unlock()
				return
			}
			wait = min(lk.ttl/10, left-drift(lk.ttl))
		}
		lk.mu.Unlock()
	}
}
