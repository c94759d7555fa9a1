package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/lock"
	"github.com/groundwork-go/groundwork/resilience"
)

// loadFlight is what a flight runs on a miss: look once more, then (with
// WithDistributedLoad) take the load lock or wait for its holder's
// value, then load under a lease and fill. When Redis fails, it loads
// without caching if WithFallbackToLoader allows, else returns the error.
func (c *Cache[V]) loadFlight(ctx context.Context, key string, load func(context.Context) (V, error), so setOptions) (*entry[V], error) {
	s := c.ep.snap(key)
	// A caller that missed just before an earlier load stored its value
	// starts a new flight: look again before loading.
	e, stale, err := c.lookupAgain(ctx, key)
	switch {
	case err == nil:
		return e, nil
	case c.rdb == nil:
		return c.loadAndFill(ctx, key, load, so, "", s)
	case !errors.Is(err, ErrMiss):
		return c.redisFailed(ctx, key, load, err)
	}
	if c.locker != nil {
		held, e, err := c.awaitLoadLock(ctx, key)
		switch {
		case err != nil:
			return c.redisFailed(ctx, key, load, err)
		case held == nil:
			return e, nil // another process loaded it
		}
		defer c.holdLoadLock(ctx, held)()
	}
	for range 3 {
		lease, res, err := c.takeLease(ctx, key, stale)
		switch {
		case err != nil:
			return c.redisFailed(ctx, key, load, err)
		case res == leased:
			return c.loadAndFill(ctx, key, load, so, lease, s)
		case res == writing:
			return c.loadAndFill(ctx, key, load, so, "", s)
		}
		// An entry appeared since the last look.
		if e, stale, err = c.lookupAgain(ctx, key); err == nil {
			return e, nil
		} else if !errors.Is(err, ErrMiss) {
			return c.redisFailed(ctx, key, load, err)
		}
	}
	// Entries keep appearing and going stale: load, do not fill.
	return c.loadAndFill(ctx, key, load, so, "", s)
}

// redisFailed handles a Redis failure on the way to a load: the loader
// runs without caching with WithFallbackToLoader, else the error is
// returned. A cancelled flight just ends.
func (c *Cache[V]) redisFailed(ctx context.Context, key string, load func(context.Context) (V, error), err error) (*entry[V], error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !c.o.fallback {
		return nil, err
	}
	c.o.logger.Debug("cache: Redis failed; loading without caching (WithFallbackToLoader)", "key", key, "err", err)
	e, _, err := c.produce(ctx, key, load)
	return e, err
}

// loadAndFill runs the loader (or takes key's write-behind value) and
// caches what it returns — the value, or the absence for ErrNotFound —
// if nothing wrote key since: in Redis, if key still has head expect (a
// lease, or the entry refreshed; "" caches nothing in Redis); locally,
// if nothing invalidated key since s. A failure to cache is logged, not
// returned: the caller has its value.
func (c *Cache[V]) loadAndFill(ctx context.Context, key string, load func(context.Context) (V, error), so setOptions, expect string, s snapshot) (*entry[V], error) {
	cacheable := expect != "" || c.rdb == nil
	ttl := c.jittered(so.ttl)
	var tags []tagVersion
	if cacheable && len(so.tags) > 0 {
		// The tags' versions before the load: an InvalidateTags while it
		// runs makes what it stores stale at once.
		var err error
		if tags, err = c.versionsFor(ctx, key, so.tags, max(ttl, c.o.negativeTTL)); err != nil {
			c.o.logger.Warn("cache: a loaded value will not be cached: tag versions", "key", key, "err", err)
			cacheable = false
		}
	}
	e, fresh, err := c.produce(ctx, key, load)
	if err != nil {
		return nil, err
	}
	if !cacheable || !fresh {
		return e, nil
	}
	if e.negative {
		ttl = c.o.negativeTTL
	}
	e.tags, e.id = tags, newWriteID()
	e.staleAt = time.Now().Add(ttl)
	if c.rdb == nil {
		c.fill(key, e, ttl, s)
		return e, nil
	}
	raw, err := c.encode(e)
	if err != nil {
		c.o.logger.Warn("cache: caching a loaded value failed", "key", key, "err", err)
		return e, nil
	}
	done, err := c.fillIf(ctx, key, expect, raw, ttl, false, e.id)
	switch {
	case err != nil && ctx.Err() == nil:
		c.o.logger.Warn("cache: caching a loaded value failed", "key", key, "err", err)
	case err != nil:
	case done == fillDone:
		c.fill(key, e, ttl, s)
	default: // a write came first and wins
		c.stats.fillsRefused.Add(1)
	}
	return e, nil
}

// versionsFor is the versions tags have now, key registered under them.
func (c *Cache[V]) versionsFor(ctx context.Context, key string, tags []string, ttl time.Duration) ([]tagVersion, error) {
	if c.rdb == nil {
		return c.localTagVersions(tags), nil
	}
	return c.tagVersions(ctx, key, tags, ttl)
}

// produce returns key's value: the write-behind write waiting for the
// store if there is one (the store does not have it yet), else what the
// loader returns, ErrNotFound as a negative entry. fresh is false when a
// write-behind Set of key is under way: what the loader read may be
// older than it, so it must not be cached.
func (c *Cache[V]) produce(ctx context.Context, key string, load func(context.Context) (V, error)) (e *entry[V], fresh bool, err error) {
	fresh = true
	if c.behind != nil {
		v, ok, busy := c.behind.peek(key)
		if ok {
			return &entry[V]{v: v}, !busy, nil
		}
		fresh = !busy
	}
	c.stats.loads.Add(1)
	start := time.Now()
	v, err := callLoader(ctx, key, load)
	took := time.Since(start)
	c.tel.loaded(ctx, took, err)
	switch {
	case errors.Is(err, ErrNotFound):
		c.stats.loadsNotFound.Add(1)
		return &entry[V]{negative: true}, fresh, nil
	case err != nil:
		c.stats.loadErrors.Add(1)
		return nil, false, err
	}
	return &entry[V]{v: v, delta: min(took, maxDelta)}, fresh, nil
}

// callLoader runs load, a panic returned as an error (ErrPanic).
func callLoader[V any](ctx context.Context, key string, load func(context.Context) (V, error)) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = recovered("loader of", key, p)
		}
	}()
	return load(ctx)
}

// loadLockTTL is the ttl of the distributed load lock, kept alive by its
// watchdog for as long as the load runs.
const loadLockTTL = 10 * time.Second

// Waiting for another process's load polls Redis with backoff: from
// 5ms, doubling to 200ms (±50%).
const (
	waitFirst = 5 * time.Millisecond
	waitMax   = 200 * time.Millisecond
)

// awaitLoadLock takes the load lock for key, or waits until another
// process's load has stored the value (returned with a nil lock) or its
// lock is gone (then tries again). Having the lock, it looks at Redis once
// more, since the last holder may have stored the value just before. It
// ends with ctx, and returns Redis failures.
func (c *Cache[V]) awaitLoadLock(ctx context.Context, key string) (*lock.Lock, *entry[V], error) {
	bo := retrying.NewLoopBackOff(resilience.RetryPolicy{InitialInterval: waitFirst, MaxInterval: waitMax})
	for {
		lk, err := c.locker.Obtain(ctx, key, loadLockTTL, lock.WithWatchdog())
		switch {
		case err == nil:
			e, _, err := c.lookupAgain(ctx, key)
			if err == nil || !errors.Is(err, ErrMiss) {
				c.releaseLoadLock(ctx, lk)
				return nil, e, err
			}
			return lk, nil, nil
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case !errors.Is(err, lock.ErrNotObtained):
			return nil, nil, fmt.Errorf("cache: load lock for %q: %w", key, err)
		}
		// Someone else loads: wait for the value or for the lock to go.
		for {
			t := time.NewTimer(bo.NextBackOff())
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, nil, ctx.Err()
			case <-t.C:
			}
			e, _, err := c.lookupAgain(ctx, key)
			if err == nil || !errors.Is(err, ErrMiss) {
				return nil, e, err
			}
			if _, err := c.locker.Holder(ctx, key); errors.Is(err, lock.ErrNotHeld) {
				break
			} else if err != nil {
				return nil, nil, fmt.Errorf("cache: load lock for %q: %w", key, err)
			}
		}
	}
}

// holdLoadLock arranges for lk to be released when ctx ends, and returns
// the release for when the load ends first: should a loader hang past its
// ctx, what it returns then is not cached, and other processes need not
// wait for it.
func (c *Cache[V]) holdLoadLock(ctx context.Context, lk *lock.Lock) (release func()) {
	var once sync.Once
	rel := func() { once.Do(func() { c.releaseLoadLock(ctx, lk) }) }
	stop := context.AfterFunc(ctx, rel)
	return func() {
		stop()
		rel() // or wait for the release ctx's end started
	}
}

// releaseLoadLock releases lk even when the flight's ctx has ended, so
// that other processes need not wait for its ttl.
func (c *Cache[V]) releaseLoadLock(ctx context.Context, lk *lock.Lock) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_ = lk.Release(rctx)
}

// releaseTimeout bounds the release of a lock or marker after the work it
// guarded ended.
const releaseTimeout = 5 * time.Second
