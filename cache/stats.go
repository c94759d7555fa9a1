package cache

import "sync/atomic"

// Stats counts what a Cache did since New. The same counts, and a few
// more, are exported as OpenTelemetry metrics (package doc, # Metrics).
type Stats struct {
	// L1Hits and L1Misses count lookups in the local layers (L1 and the
	// hot keys'); L2Hits and L2Misses those that went on to Redis.
	L1Hits, L1Misses int64
	L2Hits, L2Misses int64
	// Loads counts loader runs; LoadErrors those that failed (ErrNotFound
	// aside); Refreshes the loads started ahead of expiry.
	Loads, LoadErrors, Refreshes int64
	// Evictions counts L1 entries pushed out by newer ones.
	Evictions int64
	// Invalidations counts messages from other instances acted on.
	Invalidations int64
	// PendingWrites counts the keys whose last write-behind write is not
	// saved yet; Saves and SaveErrors count the store's batches.
	PendingWrites, Saves, SaveErrors int64
}

type counters struct {
	l1Hits, l1Misses, l2Hits, l2Misses atomic.Int64
	loads, loadErrors, refreshes       atomic.Int64
	loadsNotFound, fillsRefused        atomic.Int64
	evictions, invalidations           atomic.Int64
}

// Stats returns the counts so far.
func (c *Cache[V]) Stats() Stats {
	s := &c.stats
	st := Stats{L1Hits: s.l1Hits.Load(), L1Misses: s.l1Misses.Load(), L2Hits: s.l2Hits.Load(), L2Misses: s.l2Misses.Load(),
		Loads: s.loads.Load(), LoadErrors: s.loadErrors.Load(), Refreshes: s.refreshes.Load(),
		Evictions: s.evictions.Load(), Invalidations: s.invalidations.Load()}
	if c.behind != nil {
		st.PendingWrites = int64(c.behind.waiting())
		st.Saves, st.SaveErrors = c.behind.saves.Load(), c.behind.saveErrors.Load()
	}
	return st
}
