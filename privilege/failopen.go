package privilege

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// lastKnown is a decision this engine made, kept for WithFailOpen.
type lastKnown struct {
	d     Decision
	made  time.Time
	until time.Time // the expiry of a grant it relied on (zero: none)
}

// failOpen keeps the last decision made per request (bounded LRU, apart
// from L1: L1 empties on every write, these must outlive that) and
// answers from it while the store cannot be read.
type failOpen struct {
	window time.Duration
	last   *lru.Cache[l1Key, lastKnown]
	served atomic.Int64
	outage atomic.Bool // one warning per outage, not per check
	log    *slog.Logger
}

func newFailOpen(o *options) (*failOpen, error) {
	if o.failOpen <= 0 {
		return nil, nil
	}
	c, err := lru.New[l1Key, lastKnown](o.failOpenSize)
	if err != nil {
		return nil, fmt.Errorf("%w: fail-open size: %v", ErrInvalid, err)
	}
	return &failOpen{window: o.failOpen, last: c, log: o.logger}, nil
}

// remember records a decision made at now (computed, or read from L2),
// valid until the expiry of a grant it relied on (zero: none). Only
// decisions no condition took part in come here.
func (f *failOpen) remember(k l1Key, d Decision, now, until time.Time) {
	if f != nil {
		f.last.Add(k, lastKnown{d: d, made: now, until: until})
	}
}

// recovered ends an outage: the store answered.
func (f *failOpen) recovered() {
	if f != nil && f.outage.Load() && f.outage.Swap(false) {
		f.log.Info("privilege: store reachable again; no longer failing open")
	}
}

// answer returns the last decision for k if made within the window before
// now, marked as a fail-open answer — not once a grant it relied on has
// expired: that is known without the store.
func (f *failOpen) answer(ctx context.Context, k l1Key, now time.Time, cause error) (Decision, bool) {
	if f == nil {
		return Decision{}, false
	}
	lk, ok := f.last.Get(k)
	if !ok || now.Sub(lk.made) > f.window || lk.made.After(now) || (!lk.until.IsZero() && !now.Before(lk.until)) {
		return Decision{}, false
	}
	f.served.Add(1)
	if !f.outage.Swap(true) {
		f.log.WarnContext(ctx, "privilege: store unavailable; failing open with last known decisions", "window", f.window, "error", cause)
	}
	d := lk.d
	d.Reason = fmt.Sprintf("fail-open: store unavailable; the decision made at %s: %s", lk.made.UTC().Format(time.RFC3339Nano), lk.d.Reason)
	return d, true
}
