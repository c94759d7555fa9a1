package cache

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/groundwork-go/groundwork/lock"
)

// Errors, matched with errors.Is.
var (
	// ErrMiss: the key is not cached.
	ErrMiss = errors.New("cache: miss")
	// ErrNotFound is what a loader returns for a key that does not exist;
	// the absence is then cached for the negative TTL, and Get and
	// GetOrLoad return ErrNotFound for it meanwhile.
	ErrNotFound = errors.New("cache: not found")
	// ErrClosed: the cache was closed.
	ErrClosed = errors.New("cache: closed")
	// ErrInvalid: an argument or option is invalid.
	ErrInvalid = errors.New("cache: invalid argument")
	// ErrUnsaved: Shutdown or Close gave up on write-behind writes that
	// the store did not take; they are lost.
	ErrUnsaved = errors.New("cache: writes not saved")
)

// Cache is a two-layer cache of V values under string keys: an in-process
// LRU (L1) in front of Redis (L2). It is safe for concurrent use.
type Cache[V any] struct {
	rdb redis.UniversalClient // nil: local only
	o   options
	id  string // this instance, to skip its own invalidations

	l1   *lru.Cache[string, *entry[V]] // nil when off
	hotL *lru.Cache[string, *entry[V]] // the hot keys; nil without WithHotKeys
	hot  *hotKeys
	// seen holds the writes whose invalidation has reached this instance
	// (and its own writes), for read-your-writes tokens.
	seen *lru.Cache[uint64, struct{}]
	// tagSeen maps a tag to its newest version known here: a local copy
	// written under an older version is stale.
	tagMu   sync.RWMutex
	tagSeen map[string]string

	// epoch grows with every write and every invalidation received (and
	// on resubscribe); fillMu orders L1 fills after their epoch check
	// against invalidations, so that what a read or write saw before
	// another write never lands in L1 after it.
	fillMu     sync.Mutex
	epoch      atomic.Uint64
	subscribed atomic.Bool // L1 is filled only while invalidations arrive

	flight     singleflight.Group
	refreshing sync.Map     // keys being refreshed ahead
	locker     *lock.Locker // WithDistributedLoad
	through    Store[V]     // WithStore
	behind     *writeBehind[V]

	stats  counters
	closed atomic.Bool
	bgMu   sync.Mutex // orders background starts before Close's Wait
	bgCtx  context.Context
	stop   context.CancelFunc
	ps     *redis.PubSub // invalidations; nil without Redis or a local layer
	wg     sync.WaitGroup
}

// New returns a cache on client (standalone, Sentinel or Cluster), or an
// in-process cache only when client is nil.
func New[V any](client redis.UniversalClient, opts ...Option) (*Cache[V], error) {
	o := options{prefix: "cache:", localSize: 10_000, localTTL: time.Minute, ttl: time.Hour, jitter: 0.1,
		negativeTTL: 10 * time.Second, codec: JSON{}, logger: slog.Default()}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalid)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	switch {
	case client == nil && o.localSize == 0 && o.hotTop == 0:
		return nil, fmt.Errorf("%w: no Redis client and no local layer: nothing to cache in", ErrInvalid)
	case client == nil && o.distLoad:
		return nil, fmt.Errorf("%w: WithDistributedLoad needs a Redis client", ErrInvalid)
	}
	store, err := storeFor[V](o.store)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	_, _ = crand.Read(id[:])
	c := &Cache[V]{rdb: client, o: o, id: hex.EncodeToString(id[:]), tagSeen: map[string]string{}}
	c.seen, _ = lru.New[uint64, struct{}](seenWrites) // size > 0: no error
	c.bgCtx, c.stop = context.WithCancel(context.Background())
	if o.distLoad {
		c.locker = lock.New(client, lock.WithKeyPrefix(o.prefix+"load:"))
	}
	if o.localSize > 0 {
		c.l1, _ = lru.New[string, *entry[V]](o.localSize)
	}
	if o.hotTop > 0 {
		c.hot = newHotKeys(o.hotTop)
		c.hotL, _ = lru.New[string, *entry[V]](o.hotTop)
		c.background(c.watchHotKeys)
	}
	if o.behind != nil {
		c.behind = newWriteBehind(store, *o.behind, o.logger)
	} else {
		c.through = store
	}
	if client == nil || (c.l1 == nil && c.hotL == nil) {
		c.subscribed.Store(true)
		return c, nil
	}
	c.ps = client.Subscribe(c.bgCtx, c.channel())
	c.background(func(ctx context.Context) { c.listen(ctx, c.ps) })
	return c, nil
}

// seenWrites bounds how many recent writes an instance remembers for
// read-your-writes: a token for a write older than that reads Redis.
const seenWrites = 8192

func (c *Cache[V]) redisKey(key string) string { return c.o.prefix + key }

func (c *Cache[V]) check(key string) error {
	switch {
	case c.closed.Load():
		return ErrClosed
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	return nil
}

// Get returns key's value: from L1, else from Redis (filling L1). ErrMiss
// if it is not cached, ErrNotFound if its absence is. If Redis cannot be
// reached and L1 lacks the key, the error says so: a zero value is never
// returned as a hit.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, error) {
	var zero V
	e, err := c.lookup(ctx, key)
	switch {
	case err != nil:
		return zero, err
	case e.negative:
		return zero, ErrNotFound
	}
	return e.v, nil
}

// lookup finds key's entry in L1, else in Redis.
func (c *Cache[V]) lookup(ctx context.Context, key string) (*entry[V], error) {
	if err := c.check(key); err != nil {
		return nil, err
	}
	if e, ok := c.getLocal(ctx, key); ok {
		return e, nil
	}
	if c.rdb == nil {
		return nil, ErrMiss
	}
	epoch := c.epoch.Load()
	raw, ttl, err := c.readRedis(ctx, key)
	if errors.Is(err, redis.Nil) {
		c.stats.l2Misses.Add(1)
		return nil, ErrMiss
	}
	if err != nil {
		return nil, fmt.Errorf("cache: get %q: %w", key, err)
	}
	e, err := c.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("cache: get %q: %w", key, err)
	}
	if len(e.tags) > 0 {
		current, err := c.tagsCurrentInRedis(ctx, e.tags)
		if err != nil {
			return nil, fmt.Errorf("cache: get %q: %w", key, err)
		}
		if !current { // a tag was invalidated since the entry was written
			c.stats.l2Misses.Add(1)
			return nil, ErrMiss
		}
	}
	c.stats.l2Hits.Add(1)
	if ttl > 0 {
		e.staleAt = time.Now().Add(ttl)
		c.fill(key, e, ttl, epoch)
	}
	return e, nil
}

// readRedis reads key's raw entry, and its remaining ttl when a local
// layer or refresh-ahead needs it (else ttl is 0: one command, not two).
func (c *Cache[V]) readRedis(ctx context.Context, key string) (raw []byte, ttl time.Duration, err error) {
	if c.l1 == nil && c.hotL == nil && c.o.beta == 0 {
		raw, err = c.rdb.Get(ctx, c.redisKey(key)).Bytes()
		return raw, 0, err
	}
	pipe := c.rdb.Pipeline()
	get := pipe.Get(ctx, c.redisKey(key))
	pttl := pipe.PTTL(ctx, c.redisKey(key))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, err
	}
	raw, _ = get.Bytes()
	return raw, pttl.Val(), nil
}

// Set stores v under key in Redis and L1 and evicts key from every other
// instance's L1. With WithStore it saves v to the store first; with
// WithWriteBehind it queues v for the store after caching it.
func (c *Cache[V]) Set(ctx context.Context, key string, v V, opts ...SetOption) error {
	if err := c.check(key); err != nil {
		return err
	}
	so := setOptions{ttl: c.o.ttl}
	for _, opt := range opts {
		opt(&so)
	}
	if err := so.check(key); err != nil {
		return fmt.Errorf("cache: set: %w", err)
	}
	if c.through != nil {
		if err := c.through.Save(ctx, map[string]V{key: v}); err != nil {
			return fmt.Errorf("cache: set %q: store: %w", key, err)
		}
	}
	write, err := c.store(ctx, key, &entry[V]{v: v}, c.jittered(so.ttl), so.tags)
	if err != nil {
		return err
	}
	if c.behind != nil {
		if err := c.behind.add(key, v); err != nil {
			return fmt.Errorf("cache: set %q: cached, not queued for the store: %w", key, err)
		}
	}
	if so.token != nil {
		*so.token = Token{Key: key, write: write}
	}
	return nil
}

// store writes e to Redis under tags, announces it, then keeps it in L1.
// It returns the write's id.
func (c *Cache[V]) store(ctx context.Context, key string, e *entry[V], ttl time.Duration, tags []string) (uint64, error) {
	write := newWriteID()
	c.seen.Add(write, struct{}{})
	epoch := c.epoch.Load()
	e.staleAt = time.Now().Add(ttl)
	if c.rdb == nil {
		e.tags = c.localTagVersions(tags)
		c.afterWrite(key, e, ttl, epoch, true)
		return write, nil
	}
	if len(tags) > 0 {
		var err error
		if e.tags, err = c.tagVersions(ctx, key, tags, ttl); err != nil {
			c.afterWrite(key, nil, 0, epoch, false)
			return 0, fmt.Errorf("cache: set %q: %w", key, err)
		}
	}
	raw, err := c.encode(e)
	if err != nil {
		return 0, err
	}
	c.removeLocal(key) // a failed write must not leave the old value here
	pipe := c.rdb.Pipeline()
	pipe.Set(ctx, c.redisKey(key), raw, ttl)
	pipe.Publish(ctx, c.channel(), c.message(write, msgKey, key))
	_, err = pipe.Exec(ctx)
	c.afterWrite(key, e, ttl, epoch, err == nil)
	if err != nil {
		return 0, fmt.Errorf("cache: set %q: %w", key, err)
	}
	return write, nil
}

func newWriteID() uint64 {
	for {
		if w := rand.Uint64(); w != 0 {
			return w
		}
	}
}

// Delete removes keys from Redis and from every instance's L1. With
// WithWriteBehind, writes of the keys still waiting for the store are
// saved all the same: Delete empties the cache, not the store.
func (c *Cache[V]) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := c.check(k); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if c.rdb == nil {
		c.invalidate(keys...)
		return nil
	}
	// One DEL per key: in a Cluster the keys may sit in different slots.
	pipe := c.rdb.Pipeline()
	for _, k := range keys {
		write := newWriteID()
		c.seen.Add(write, struct{}{})
		pipe.Del(ctx, c.redisKey(k))
		pipe.Publish(ctx, c.channel(), c.message(write, msgKey, k))
	}
	c.invalidate(keys...)
	_, err := pipe.Exec(ctx)
	c.invalidate(keys...) // and whatever a read filled meanwhile
	if err != nil {
		return fmt.Errorf("cache: delete: %w", err)
	}
	return nil
}

// GetOrLoad returns key's value, loading it on a miss. Concurrent misses
// for one key in this process run load once and share its result. A load
// returning ErrNotFound caches the absence for the negative TTL; any other
// load error is returned and not cached. The load runs with a context that
// is not cancelled with this caller's (others may wait for it); this
// caller stops waiting when ctx ends. With WithRefreshAhead, a hit close
// to its expiry may start a reload in the background (see there).
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (V, error), opts ...LoadOption) (V, error) {
	var zero V
	if load == nil {
		return zero, fmt.Errorf("%w: GetOrLoad %q: nil loader", ErrInvalid, key)
	}
	so := setOptions{ttl: c.o.ttl}
	for _, opt := range opts {
		opt(&so)
	}
	if err := so.check(key); err != nil {
		return zero, fmt.Errorf("cache: GetOrLoad: %w", err)
	}
	e, err := c.lookup(ctx, key)
	switch {
	case err == nil && e.negative:
		return zero, ErrNotFound
	case err == nil:
		if c.dueForRefresh(e) {
			c.refreshAhead(key, load, so)
		}
		return e.v, nil
	case errors.Is(err, ErrClosed) || errors.Is(err, ErrInvalid):
		return zero, err
	case !errors.Is(err, ErrMiss) && !c.o.fallback:
		return zero, err
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		lctx := context.WithoutCancel(ctx)
		// A caller that missed just before an earlier load stored its
		// value starts a new flight: look again before loading.
		if e, err := c.lookup(lctx, key); err == nil {
			return e, nil
		}
		if c.locker != nil {
			held, e, err := c.awaitLoadLock(lctx, key)
			if held == nil {
				return e, err // another process loaded it, or Redis failed
			}
			defer held.Release(lctx)
		}
		return c.loadAndStore(lctx, key, load, so)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		if e := r.Val.(*entry[V]); !e.negative {
			return e.v, nil
		}
		return zero, ErrNotFound
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// loadAndStore runs load and caches what it returns: the value, or the
// absence for ErrNotFound. A failure to cache is logged, not returned:
// the caller has its value.
func (c *Cache[V]) loadAndStore(ctx context.Context, key string, load func(context.Context) (V, error), so setOptions) (*entry[V], error) {
	c.stats.loads.Add(1)
	start := time.Now()
	v, err := load(ctx)
	e, ttl := &entry[V]{v: v, delta: min(time.Since(start), maxDelta)}, c.jittered(so.ttl)
	switch {
	case errors.Is(err, ErrNotFound):
		e, ttl = &entry[V]{negative: true}, c.o.negativeTTL
	case err != nil:
		c.stats.loadErrors.Add(1)
		return nil, err
	}
	if _, serr := c.store(ctx, key, e, ttl, so.tags); serr != nil {
		c.o.logger.Warn("cache: caching a loaded value failed", "key", key, "err", serr)
	}
	return e, nil
}

// Shutdown saves what write-behind holds (waiting until ctx ends at the
// most), then closes the cache as Close does. Writes the store has not
// taken by then are lost: the error says how many (ErrUnsaved).
func (c *Cache[V]) Shutdown(ctx context.Context) error {
	c.bgMu.Lock()
	first := !c.closed.Swap(true)
	c.bgMu.Unlock()
	if !first {
		return nil
	}
	var errs []error
	if c.behind != nil {
		errs = append(errs, c.behind.shutdown(ctx))
	}
	c.stop()
	if c.ps != nil {
		errs = append(errs, c.ps.Close())
	}
	c.wg.Wait()
	return errors.Join(errs...)
}

// Close closes the cache: it saves what write-behind holds, for up to 10
// seconds (use Shutdown to choose), and stops every background task. It
// is idempotent; afterwards every method returns ErrClosed.
func (c *Cache[V]) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
	defer cancel()
	return c.Shutdown(ctx)
}

// background runs f on its own goroutine until Close, unless the cache
// is closed already.
func (c *Cache[V]) background(f func(ctx context.Context)) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.bgCtx)
	}()
	return true
}

// loadLockTTL is the ttl of the distributed load lock, kept alive by its
// watchdog for as long as the load runs.
const loadLockTTL = 10 * time.Second

// awaitLoadLock takes the load lock for key, or waits until another
// process's load has stored the value (returned with a nil lock) or its
// lock is gone (then tries again). Having the lock, it looks at Redis once
// more, since the last holder may have stored the value just before.
func (c *Cache[V]) awaitLoadLock(ctx context.Context, key string) (*lock.Lock, *entry[V], error) {
	for {
		lk, err := c.locker.Obtain(ctx, key, loadLockTTL, lock.WithWatchdog())
		switch {
		case err == nil:
			if e, err := c.lookup(ctx, key); err == nil {
				_ = lk.Release(ctx)
				return nil, e, nil
			}
			return lk, nil, nil
		case !errors.Is(err, lock.ErrNotObtained):
			return nil, nil, fmt.Errorf("cache: load lock for %q: %w", key, err)
		}
		// Someone else loads: wait for the value or for the lock to go.
		for {
			if e, err := c.lookup(ctx, key); err == nil {
				return nil, e, nil
			}
			if _, err := c.locker.Holder(ctx, key); errors.Is(err, lock.ErrNotHeld) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
