package cache

import (
	"context"
	"time"
)

// The local layers: L1 (WithLocal, WithLocalKeys) and the hot keys'
// layer (WithHotKeys). A key is looked up in the hot layer first.

// getLocal returns key's local copy if it is fresh: not expired, written
// under its tags' newest versions, and reflecting every write ctx's
// tokens name for key.
func (c *Cache[V]) getLocal(ctx context.Context, key string) (*entry[V], bool) {
	if c.hot != nil {
		c.hot.record(key)
	} else if c.l1 == nil {
		return nil, false // no local layer at all
	}
	// Tokens first: once their writes are seen, the copies below are
	// the writes' or newer.
	if !c.tokensSeen(ctx, key) {
		c.stats.l1Misses.Add(1)
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
		c.stats.l1Misses.Add(1)
		return nil, false
	}
	c.stats.l1Hits.Add(1)
	return e, true
}

// putLocal keeps e for the shorter of ttl and the L1 ttl, in the hot
// layer if key is hot, else in L1 if it takes key. Only while
// invalidations are being received.
func (c *Cache[V]) putLocal(key string, e *entry[V], ttl time.Duration) {
	if !c.subscribed.Load() {
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

// fill keeps what a read found, unless a write or an invalidation came
// since the read began (epoch): what it read may be the old value.
func (c *Cache[V]) fill(key string, e *entry[V], ttl time.Duration, epoch uint64) {
	c.fillMu.Lock()
	defer c.fillMu.Unlock()
	if c.epoch.Load() == epoch {
		c.learnTags(e)
		c.putLocal(key, e, ttl)
	}
}

// afterWrite keeps what a successful write wrote, unless another write
// or invalidation overlapped it (their order in Redis is unknown here):
// then, as after a failed write, the key is dropped locally.
func (c *Cache[V]) afterWrite(key string, e *entry[V], ttl time.Duration, epoch uint64, ok bool) {
	c.fillMu.Lock()
	defer c.fillMu.Unlock()
	if c.epoch.Add(1) == epoch+1 && ok {
		c.learnTags(e)
		c.putLocal(key, e, ttl)
		return
	}
	c.removeLocal(key)
}

// invalidate drops keys locally and stops reads in flight from filling
// them.
func (c *Cache[V]) invalidate(keys ...string) {
	c.fillMu.Lock()
	defer c.fillMu.Unlock()
	c.epoch.Add(1)
	for _, k := range keys {
		c.removeLocal(k)
	}
}

// purgeLocal empties the local layers.
func (c *Cache[V]) purgeLocal() {
	c.fillMu.Lock()
	defer c.fillMu.Unlock()
	c.epoch.Add(1)
	if c.hotL != nil {
		c.hotL.Purge()
	}
	if c.l1 != nil {
		c.l1.Purge()
	}
}

// HotKeys returns the keys the hot-key detector counts as hot now, most
// read first; nil without WithHotKeys.
func (c *Cache[V]) HotKeys() []HotKey {
	if c.hot == nil {
		return nil
	}
	return c.hot.topK()
}

// watchHotKeys recomputes the hot set every quarter window, starts a new
// half window every other time, and drops keys no longer hot from the
// hot layer.
func (c *Cache[V]) watchHotKeys(ctx context.Context) {
	t := time.NewTicker(c.o.hotWindow / 4)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n%2 == 0 {
			c.hot.rotate()
		}
		hot := c.hot.refresh()
		for _, k := range c.hotL.Keys() {
			if _, ok := hot[k]; !ok {
				c.hotL.Remove(k)
			}
		}
	}
}
