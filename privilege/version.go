package privilege

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Watcher is an optional Store capability: Watch calls fn with each new
// Version the store learns of — its own writes before they return, and
// other processes' writes as they are announced — until ctx ends. It
// returns when ctx ends (nil) or when it cannot watch at all. fn must be
// quick: it runs on the writing goroutine. PostgresStore implements it.
//
// An Engine on a Watcher store does not read the store's Version on
// every Check: it decides at the latest version it has seen, confirmed by
// a read at most WithMaxStaleness ago.
type Watcher interface {
	Watch(ctx context.Context, fn func(version uint64)) error
}

// tracker is the version an engine decides at when it does not read the
// store's Version on every check: the highest it has seen (from the
// store's Watch, from other instances over Redis, from its own reads),
// usable while fresh — while its last confirmation by a read of the store
// is younger than the bound. A timer clears fresh at the bound, so a check
// that finds it set reads no clock at all (the clock costs more than the
// rest of an L1 hit on some machines).
//
// Why this is safe: a version is only ever learnt after it was committed,
// so data read after learning it is at least as new as it (the labelling
// invariant, see Engine.check); and if every notification is lost, the
// timer still forces a read of the store within the bound.
type tracker struct {
	known atomic.Uint64
	fresh atomic.Bool
	bound time.Duration
	timer timer // clears fresh; armed by each confirmation
	now   func() time.Time
	sf    singleflight.Group

	// hints counts announcements of newer versions (and resubscriptions):
	// a read that one arrived during does not make the version fresh.
	hints atomic.Uint64

	// rereads counts synchronous confirmations (reads of the store's
	// Version on the check path).
	rereads atomic.Int64
	waiting atomic.Int32 // checks waiting for a read (tests wait on it)
}

func newTracker(bound time.Duration, now func() time.Time, afterFunc func(time.Duration, func()) timer) *tracker {
	t := &tracker{bound: bound, now: now}
	t.timer = afterFunc(time.Hour, t.expire)
	t.timer.Stop()
	return t
}

func (t *tracker) expire() { t.fresh.Store(false) }

// raise makes v known if it is newer than what is; it reports whether it
// was. v must come from the store itself (a read, or its Watch): a
// version the store never reached, once known, would be decided at until
// the store passed it, every real write below it ignored. It never makes
// the known version fresh: a notification says a version exists, not that
// no newer one does.
func (t *tracker) raise(v uint64) bool {
	for {
		cur := t.known.Load()
		if v <= cur {
			return false
		}
		if t.known.CompareAndSwap(cur, v) {
			return true
		}
	}
}

// hint takes a version another instance announced (over Redis). It is
// news that the store has moved, not a version to decide at: anyone who
// can publish on the channel, or an engine on another store sharing the
// prefix, could announce one the store never reached. A newer one makes
// the known version stale, so the next check reads the store's.
func (t *tracker) hint(v uint64) {
	if v > t.known.Load() {
		t.stale()
	}
}

// version returns the version to decide at: the known one while fresh,
// else the store's, read by one caller at a time (the others wait for its
// answer).
func (t *tracker) version(ctx context.Context, s Store) (uint64, error) {
	if t.fresh.Load() {
		return t.known.Load(), nil
	}
	for attempt := 1; ; attempt++ {
		t.waiting.Add(1)
		v, err := t.read(ctx, s)
		t.waiting.Add(-1)
		// The read ran on the context of whichever caller led it: if that
		// one gave up, this caller has not, and must not be failed (nor
		// answered fail-open) for it. A few times only: a store's own
		// timeouts look the same.
		if err != nil && attempt < 3 && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			continue
		}
		return v, err
	}
}

// read reads the store's version, one caller at a time: the others wait
// for its answer, each no longer than its own ctx (the read runs on the
// leader's, which may have no deadline while the store hangs).
func (t *tracker) read(ctx context.Context, s Store) (uint64, error) {
	ch := t.sf.DoChan("", func() (any, error) {
		t.rereads.Add(1)
		hints := t.hints.Load()
		start := t.now()
		v, err := s.Version(ctx)
		if err != nil {
			return uint64(0), err
		}
		t.raise(v)
		// Fresh until the bound, counted from before the read: the store
		// may have moved on at any point after the read started.
		// Not if a newer version was announced meanwhile: this read may
		// predate it.
		if left := t.bound - t.now().Sub(start); left > 0 && t.hints.Load() == hints {
			t.fresh.Store(true)
			t.timer.Reset(left) // after the Store: a late expire only costs a read
		}
		return t.known.Load(), nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return 0, r.Err
		}
		return r.Val.(uint64), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// stale forgets the confirmation: the next check reads the store. For
// when notifications may have been lost (a resubscription).
func (t *tracker) stale() {
	t.hints.Add(1)
	t.fresh.Store(false)
}

func (t *tracker) stop() { t.timer.Stop() }
