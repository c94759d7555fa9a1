package outbox

import "context"

// SetHooks sets the relay's test hooks; nil clears one.
func (o *Outbox) SetHooks(claimed, published func(partition int, ids []string)) {
	o.hooks = hooks{claimed: claimed, published: published}
}

// Cleanup deletes sent rows past the retention now.
func (o *Outbox) Cleanup(ctx context.Context) error { return o.cleanup(ctx) }

// Counts returns the relay's counters: sent, failed, retried, db errors.
func (o *Outbox) Counts() (sent, failed, retried, bad int64) {
	return o.tel.sent.n.Load(), o.tel.failed.n.Load(), o.tel.retried.n.Load(), o.tel.bad.n.Load()
}
