package greyroute

import "errors"

// WithRollbackHook calls f at the auto-rollback's steps: "trip" (in the
// Done that found the window over the threshold), "before" (each attempt
// of the script; the test may block it there) and "after" (with the
// script's status, "ok" or "already"). Give it after WithAutoRollback.
func WithRollbackHook(f func(stage string, e RollbackEvent, status string)) Option {
	return func(c *config) error {
		if c.router.rollback == nil {
			return errors.New("WithRollbackHook needs WithAutoRollback before it")
		}
		c.router.rollback.hook = f
		return nil
	}
}

// Bucket is the rollout bucket of (tenant, service): a tenant is in a
// rollout of bp basis points when its bucket is below bp.
func Bucket(tenant, service string) int { return int(bucket(tenant, service)) }

// RollbackTally is the calls and failures in the auto-rollback window of
// service's rollout target, as of the Router's clock; ok is false when
// the Router has no window for it.
func RollbackTally(r *Router, service string) (calls, failures int64, ok bool) {
	r.mu.Lock()
	w := r.rb.windows[service]
	r.mu.Unlock()
	if w == nil {
		return 0, 0, false
	}
	calls, failures = w.tally(r.cfg.clock().UnixNano())
	return calls, failures, true
}
