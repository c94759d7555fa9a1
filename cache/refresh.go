package cache

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/groundwork-go/groundwork/lock"
)

// dueForRefresh is XFetch's test: now − Δ·β·ln(rand) ≥ expiry, for
// entries a load produced (Δ > 0).
func (c *Cache[V]) dueForRefresh(e *entry[V]) bool {
	if c.o.beta == 0 || e.staleAt.IsZero() {
		return false
	}
	if c.forceRefresh.Load() {
		return true
	}
	if e.delta <= 0 {
		return false
	}
	gap := float64(e.delta) * c.o.beta * -math.Log(1-rand.Float64()) // 1-rand: never ln(0)
	return time.Now().Add(time.Duration(gap)).After(e.staleAt)
}

// refreshAhead reloads key in the background, once at a time per key in
// this process, and with WithDistributedLoad once across processes: one
// that finds the load lock taken leaves the refresh to its holder. What
// it loads replaces e only if e is still the entry (a write since wins),
// and a key with a write-behind write waiting is not refreshed: the
// cache holds a newer value than the store.
func (c *Cache[V]) refreshAhead(key string, load func(context.Context) (V, error), so setOptions, e *entry[V]) {
	if c.behind != nil {
		if _, ok, busy := c.behind.peek(key); ok || busy {
			return
		}
	}
	if _, busy := c.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	started := c.background(func(ctx context.Context) {
		defer c.refreshing.Delete(key)
		defer func() { // a codec's panic (the loader's is caught in produce)
			if p := recover(); p != nil {
				c.o.logger.Warn("cache: refresh-ahead panicked; the entry stays until it expires", "key", key, "err", recovered("refresh", key, p))
			}
		}()
		ctx, cancel := context.WithTimeoutCause(ctx, c.o.loadTimeout, errLoadTimeout)
		defer cancel()
		if c.locker != nil {
			lk, err := c.locker.Obtain(ctx, key, loadLockTTL, lock.WithWatchdog())
			if err != nil {
				if !errors.Is(err, lock.ErrNotObtained) && ctx.Err() == nil {
					c.o.logger.Warn("cache: refresh-ahead: load lock", "key", key, "err", err)
				}
				return
			}
			defer c.holdLoadLock(ctx, lk)()
		}
		c.stats.refreshes.Add(1)
		if _, err := c.loadAndFill(ctx, key, load, so, e.head(), c.ep.snap(key)); err != nil && ctx.Err() == nil {
			c.o.logger.Warn("cache: refresh-ahead load failed; the entry stays until it expires", "key", key, "err", err)
		}
	})
	if !started {
		c.refreshing.Delete(key)
	}
}
