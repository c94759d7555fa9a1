package cache

import "sync/atomic"

// Stats counts what a Cache did since New.
type Stats struct {
	L1Hits, L1Misses int64
	L2Hits, L2Misses int64
	// Loads counts loader runs; LoadErrors those that failed (ErrNotFound
	// aside).
	Loads, LoadErrors int64
	// Evictions counts L1 entries pushed out by newer ones.
	Evictions int64
	// Invalidations counts L1 evictions asked for by other instances.
	Invalidations int64
}

type counters struct {
	l1Hits, l1Misses, l2Hits, l2Misses atomic.Int64
	loads, loadErrors                  atomic.Int64
	evictions, invalidations           atomic.Int64
}

// Stats returns the counts so far.
func (c *Cache[V]) Stats() Stats {
	s := &c.stats
	return Stats{L1Hits: s.l1Hits.Load(), L1Misses: s.l1Misses.Load(), L2Hits: s.l2Hits.Load(), L2Misses: s.l2Misses.Load(),
		Loads: s.loads.Load(), LoadErrors: s.loadErrors.Load(), Evictions: s.evictions.Load(), Invalidations: s.invalidations.Load()}
}
