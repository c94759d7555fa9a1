package greyroute

// AtomicTick makes an Atomic-mode Router's flusher tick now, as its timer
// does every atomicLease/3: a full flush of every service it picked on
// since the last tick or has calls in progress on. The "flushed" load
// hook tells when it is done.
func AtomicTick(r *Router) {
	select {
	case r.atomic.tick <- struct{}{}:
	default:
	}
}
