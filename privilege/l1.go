package privilege

import (
	"hash/maphash"
	"math/bits"
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
// Entries are immutable once stored.
type l1Entry struct {
	key   l1Key
	d     Decision
	until time.Time
}

// l1Probe is how many slots a key may sit in: its hash's and the three
// after it.
const l1Probe = 4

// l1Gen holds the decisions of one store version: an open-addressed table
// of atomic pointers, read without any lock or atomic write. A newer
// version replaces the whole generation: every decision made on older
// rules becomes unreachable at once, and its memory goes with it. Slots
// are never emptied, so a key's probe sequence is never cut short.
type l1Gen struct {
	version uint64
	born    time.Time
	seed    maphash.Seed
	slots   []atomic.Pointer[l1Entry] // a power of two long
	n       atomic.Int64              // entries stored (an estimate under races), to size the next generation
}

// l1 is the in-process decision cache. Not golang-lru: its Get takes an
// exclusive lock and moves the entry in a list — 114 ns on this machine,
// over the whole budget of an L1 hit (100 ns) — and an LRU's order is of
// little use when every write empties the cache anyway. A hit here is a
// hash and a few atomic loads, and reads no clock unless the entry relied
// on an expiring grant. A table starts small and doubles when a key finds
// its slots taken, up to the configured size; at that size, the new entry
// replaces the one in its first slot (an eviction by hash, in effect
// random). A generation older than the TTL is dropped at the next fill.
type l1 struct {
	size int // slots at most: the size asked for, rounded up to a power of two
	ttl  time.Duration
	gen  atomic.Pointer[l1Gen]
}

func newL1(size int, ttl time.Duration) *l1 {
	if size <= 0 {
		return nil
	}
	return &l1{size: 1 << bits.Len(uint(size-1)), ttl: ttl}
}

// get returns the entry of k at version v, if any and still valid. The
// entry is shared: read it, never change it.
func (c *l1) get(k l1Key, v uint64, now func() time.Time) *l1Entry {
	if c == nil {
		return nil
	}
	g := c.gen.Load()
	if g == nil || g.version != v {
		return nil
	}
	h := maphash.Comparable(g.seed, k)
	mask := uint64(len(g.slots) - 1)
	for i := range uint64(l1Probe) {
		e := g.slots[(h+i)&mask].Load()
		if e == nil {
			return nil
		}
		if e.key == k {
			if !e.until.IsZero() && !now().Before(e.until) {
				return nil
			}
			return e
		}
	}
	return nil
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
		ng := c.newGen(v, now, g)
		if c.gen.CompareAndSwap(g, ng) {
			g = ng
			break
		}
		g = c.gen.Load()
	}
	if g.version != v {
		return
	}
	e := &l1Entry{key: k, d: d, until: validUntil}
	full := len(g.slots) >= c.size
	if g.insert(e, full) || full {
		return
	}
	// The key's slots were all taken and the table may grow: double it,
	// moving what it holds. Fills racing with the move may be lost (a miss
	// later), never misplaced: a key is found only where its hash says.
	ng := &l1Gen{version: g.version, born: g.born, seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[l1Entry], 2*len(g.slots))}
	for i := range g.slots {
		if old := g.slots[i].Load(); old != nil {
			ng.insert(old, true)
		}
	}
	ng.insert(e, true)
	c.gen.CompareAndSwap(g, ng)
}

// insert stores e in one of its key's slots: an empty one or the key's
// own. If all are taken by other keys it reports false, after replacing
// the first if evict is set.
func (g *l1Gen) insert(e *l1Entry, evict bool) bool {
	h := maphash.Comparable(g.seed, e.key)
	mask := uint64(len(g.slots) - 1)
	for i := range uint64(l1Probe) {
		slot := &g.slots[(h+i)&mask]
		old := slot.Load()
		if old == nil || old.key == e.key {
			// Two fills racing for one empty slot: the later wins, the
			// other is a miss next time. Nothing wrong is ever served.
			slot.Store(e)
			if old == nil {
				g.n.Add(1)
			}
			return true
		}
	}
	if evict {
		g.slots[h&mask].Store(e)
	}
	return false
}

// newGen makes the generation of version v, sized for twice what the
// previous one held (a version that is never checked much costs little),
// within the configured size; it doubles as it fills.
func (c *l1) newGen(v uint64, now time.Time, prev *l1Gen) *l1Gen {
	n := 64
	if prev != nil {
		for n < c.size && int64(n) < 2*prev.n.Load() {
			n *= 2
		}
	}
	n = min(n, c.size)
	return &l1Gen{version: v, born: now, seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[l1Entry], n)}
}

func (c *l1) purge() {
	if c != nil {
		c.gen.Store(nil)
	}
}
