package privilege

import (
	"sync"
	"sync/atomic"
	"time"
)

// l1Key is a request without its attributes: only decisions that no
// condition took part in are cached.
type l1Key struct {
	subject, resource, action string
}

// l1Entry is a cached decision; until, when set, is the expiry of a grant
// it relied on: it is not served at or after it, without any write.
type l1Entry struct {
	d     Decision
	until time.Time
}

// l1Gen holds the decisions of one store version. A newer version
// replaces the whole generation: every decision made on older rules
// becomes unreachable at once, and its memory goes with it.
type l1Gen struct {
	version uint64
	born    time.Time
	mu      sync.RWMutex
	m       map[l1Key]*l1Entry
}

// l1 is the in-process decision cache. Not golang-lru: its Get takes an
// exclusive lock and moves the entry in a list — 114 ns on this machine,
// over the whole budget of an L1 hit (100 ns) — and an LRU's order is of
// little use when every write empties the cache anyway. A hit here is a
// read lock and a map lookup, and reads no clock unless the entry relied
// on an expiring grant. When full, a random entry makes room (Go's map
// iteration starts at a random place); a generation older than the TTL is
// dropped at the next fill.
type l1 struct {
	size int
	ttl  time.Duration
	gen  atomic.Pointer[l1Gen]
}

func newL1(size int, ttl time.Duration) *l1 {
	if size <= 0 {
		return nil
	}
	return &l1{size: size, ttl: ttl}
}

func (c *l1) get(k l1Key, v uint64, now func() time.Time) (Decision, time.Time, bool) {
	if c == nil {
		return Decision{}, time.Time{}, false
	}
	g := c.gen.Load()
	if g == nil || g.version != v {
		return Decision{}, time.Time{}, false
	}
	g.mu.RLock()
	e := g.m[k]
	g.mu.RUnlock()
	if e == nil || (!e.until.IsZero() && !now().Before(e.until)) {
		return Decision{}, time.Time{}, false
	}
	return e.d, e.until, true
}

// put caches d, decided at version v, valid until validUntil (zero: no
// grant expiry). A decision of an older version than the cache holds is
// dropped: a write that happened during its computation wins.
func (c *l1) put(k l1Key, v uint64, d Decision, now, validUntil time.Time) {
	if c == nil {
		return
	}
	g := c.gen.Load()
	for g == nil || g.version < v || (g.version == v && now.Sub(g.born) >= c.ttl) {
		ng := &l1Gen{version: v, born: now, m: make(map[l1Key]*l1Entry)}
		if c.gen.CompareAndSwap(g, ng) {
			g = ng
			break
		}
		g = c.gen.Load()
	}
	if g.version != v {
		return
	}
	g.mu.Lock()
	if _, ok := g.m[k]; !ok && len(g.m) >= c.size {
		for old := range g.m {
			delete(g.m, old)
			break
		}
	}
	g.m[k] = &l1Entry{d: d, until: validUntil}
	g.mu.Unlock()
}

func (c *l1) purge() {
	if c != nil {
		c.gen.Store(nil)
	}
}
