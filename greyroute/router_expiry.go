package greyroute

import (
	"cmp"
	"context"
	"time"
)

// Expiries without events. A Heartbeat that only moves a live instance's
// expiry later announces nothing (scripts/heartbeat.lua): with hundreds of
// instances heartbeating every few seconds, announcing each would make
// every Router reload the whole service several times a second. Instead a
// Router remembers the earliest expiry in each service's table and, when
// that passes by its clock, reloads the service: an instance that
// heartbeated meanwhile comes back with its later expiry, one that did
// not is dropped. So each service is reloaded about once per ttl minus
// heartbeat interval, and a silent instance leaves every Router within a
// reload of its expiry.

// expiryRetry is the least wait before reloading expired services again
// after such a reload failed (Redis unreachable): no busy loop.
const expiryRetry = time.Second

// expiryBatch is the least wait between two rounds of expiry reloads.
// A round scans every service the Router holds; with thousands of
// services, each expiring at its own time, a round per expiry would keep
// the loader scanning. Batching rounds 100ms apart bounds the scans to
// ten a second, at the cost of dropping an expired instance up to 100ms
// later — little beside a ttl of seconds.
const expiryBatch = 100 * time.Millisecond

// holdExpiry records exp (zero: none) as held by the table.
func (t *svcTable) holdExpiry(exp time.Time) {
	if !exp.IsZero() && (t.expires.IsZero() || exp.Before(t.expires)) {
		t.expires = exp
	}
}

// untilExpiry is how long the loader may wait before the earliest expiry
// a table holds passes, at most the resync period (which reloads all
// anyway) and at least floor.
func (r *Router) untilExpiry(floor time.Duration) time.Duration {
	d := r.cfg.router.resync
	now := r.cfg.clock()
	for _, slot := range *r.services.Load() {
		if exp := slot.t.Load().expires; !exp.IsZero() {
			d = min(d, exp.Sub(now))
		}
	}
	return max(d, floor)
}

// reloadExpired reloads every service holding an expiry that has passed
// by the Router's clock. One that fails on its own (serviceOnly) does
// not keep the others from reloading; its error is returned at the end.
func (r *Router) reloadExpired(ctx context.Context) error {
	now := r.cfg.clock()
	var first error
	for service, slot := range *r.services.Load() {
		if exp := slot.t.Load().expires; exp.IsZero() || exp.After(now) {
			continue
		}
		if err := r.loadService(ctx, service); err != nil {
			if ctx.Err() == nil {
				r.outage(err)
			}
			if !serviceOnly(ctx, err) {
				return err
			}
			first = cmp.Or(first, err)
		}
	}
	return first
}

// expiryLoop is the loader's timer for the next held expiry.
type expiryLoop struct {
	timer *time.Timer
	floor time.Duration // expiryRetry after a failed reload, else 0
}

func newExpiryLoop() *expiryLoop {
	return &expiryLoop{timer: time.NewTimer(time.Hour)}
}

// arm sets the timer for the next expiry the Router holds.
func (e *expiryLoop) arm(r *Router) { e.timer.Reset(e.wait(r)) }

// wait is how long the timer waits for the next round.
func (e *expiryLoop) wait(r *Router) time.Duration { return r.untilExpiry(max(e.floor, expiryBatch)) }

// fire reloads the expired services.
func (e *expiryLoop) fire(ctx context.Context, r *Router) {
	e.floor = 0
	if r.reloadExpired(ctx) != nil {
		e.floor = expiryRetry
	}
}
