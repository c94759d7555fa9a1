package cache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// The local layers: L1 (WithLocal, WithLocalKeys) and the hot keys'
// layer (WithHotKeys). A key is looked up in the hot layer first.
//
// A copy enters them only if nothing that could make it old happened
// since it was read: no write or invalidation of its key, no tag
// invalidation (for a tagged copy), no purge. Epochs say so: one per
// stripe of keys, one for tags, one for everything. Per stripe, not one
// for the cache, so that writes to other keys do not stop fills of this
// one (one epoch made the L1 hit rate collapse under writes); 512
// stripes make a write cancel a fill of an unrelated key rarely.

const epochStripes = 512

// epochs guards L1 fills against invalidations that overlap a read.
type epochs struct {
	mu      sync.Mutex // orders fills after their check against invalidations
	all     atomic.Uint64
	tags    atomic.Uint64
	stripes [epochStripes]atomic.Uint64
	seed    maphash.Seed
}

// snapshot is the epochs a read or write of one key began under.
type snapshot struct {
	all, tags, key uint64
	stripe         *atomic.Uint64
}

func (ep *epochs) stripe(key string) *atomic.Uint64 {
	return &ep.stripes[maphash.String(ep.seed, key)%epochStripes]
}

func (ep *epochs) snap(key string) snapshot {
	s := ep.stripe(key)
	return snapshot{all: ep.all.Load(), tags: ep.tags.Load(), key: s.Load(), stripe: s}
}

// unchanged reports, under mu, whether nothing invalidated key (or, for a
// tagged copy, any tag) since s, allowing for bumps of key's own stripe.
func (ep *epochs) unchanged(s snapshot, ownBumps uint64, tagged bool) bool {
	return s.stripe.Load() == s.key+ownBumps && ep.all.Load() == s.all && (!tagged || ep.tags.Load() == s.tags)
}

// getLocal returns key's local copy if it is fresh: not expired, written
// under its tags' newest versions, and reflecting every write ctx's
// tokens name for key. While the invalidation channel is not known to be
// live, the local layers are paused: they may have missed a write.
func (c *Cache[V]) getLocal(ctx context.Context, key string) (*entry[V], bool) {
	if c.hot != nil {
		c.hot.record(key)
	} else if c.l1 == nil {
		return nil, false // no local layer at all
	}
	if !c.healthy.Load() {
		c.stats.l1Misses.Add(1)
		return nil, false
	}
	e, ok := c.localCopy(ctx, key)
	if !ok {
		c.stats.l1Misses.Add(1)
		return nil, false
	}
	c.stats.l1Hits.Add(1)
	return e, true
}

// localCopy is getLocal without the liveness check and the counting.
func (c *Cache[V]) localCopy(ctx context.Context, key string) (*entry[V], bool) {
	if c.l1 == nil && c.hotL == nil {
		return nil, false
	}
	// Tokens first: once their writes are seen, the copies below are
	// the writes' or newer.
	if !c.tokensSeen(ctx, key) {
		return nil, false
	}
	var e *entry[V]
	ok := false
	if c.hotL != nil {
		e, ok = c.hotL.Get(key)
	}
	if !ok && c.l1 != nil {
		e, ok = c.l1.Get(key)
	}
	if !ok || time.Now().After(e.expires) || !c.localTagsCurrent(e) {
		return nil, false
	}
	return e, true
}

// putLocal keeps e for the shorter of ttl and the L1 ttl, in the hot
// layer if key is hot, else in L1 if it takes key. Only while
// invalidations are being received.
func (c *Cache[V]) putLocal(key string, e *entry[V], ttl time.Duration) {
	if !c.healthy.Load() {
		return
	}
	localTTL := c.o.localTTL
	if localTTL <= 0 {
		localTTL = c.o.hotWindow
	}
	e.expires = time.Now().Add(min(ttl, localTTL))
	if c.hot != nil && c.hot.isHot(key) {
		c.hotL.Add(key, e)
		return
	}
	if c.l1 != nil && (c.o.localKeys == nil || c.o.localKeys(key)) && c.l1.Add(key, e) {
		c.stats.evictions.Add(1)
	}
}

func (c *Cache[V]) removeLocal(key string) {
	if c.hotL != nil {
		c.hotL.Remove(key)
	}
	if c.l1 != nil {
		c.l1.Remove(key)
	}
}

// fill keeps what a read (or a load) found, unless something invalidated
// key since the read began (s): what it read may be the old value.
func (c *Cache[V]) fill(key string, e *entry[V], ttl time.Duration, s snapshot) {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	if c.ep.unchanged(s, 0, len(e.tags) > 0) {
		c.learnTags(e)
		c.putLocal(key, e, ttl)
	}
}

// afterWrite keeps what a successful write wrote, unless another write
// or invalidation overlapped it (their order in Redis is unknown here):
// then, as after a failed write, the key is dropped locally.
func (c *Cache[V]) afterWrite(key string, e *entry[V], ttl time.Duration, s snapshot, ok bool) {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	s.stripe.Add(1)
	if ok && c.ep.unchanged(s, 1, len(e.tags) > 0) {
		c.learnTags(e)
		c.putLocal(key, e, ttl)
		return
	}
	c.removeLocal(key)
}

// invalidate drops keys locally and stops reads of them in flight from
// filling them.
func (c *Cache[V]) invalidate(keys ...string) {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	for _, k := range keys {
		c.ep.stripe(k).Add(1)
		c.removeLocal(k)
	}
}

// purgeLocal empties the local layers.
func (c *Cache[V]) purgeLocal() {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	c.purgeLocked()
}

func (c *Cache[V]) purgeLocked() {
	c.ep.all.Add(1)
	if c.hotL != nil {
		c.hotL.Purge()
	}
	if c.l1 != nil {
		c.l1.Purge()
	}
}
