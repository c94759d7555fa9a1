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
)

// Entry kinds in Redis: the first byte of the stored value.
const (
	kindValue    = 'v'
	kindNegative = 'n'
)

// Cache is a two-layer cache of V values under string keys: an in-process
// LRU (L1) in front of Redis (L2). It is safe for concurrent use.
type Cache[V any] struct {
	rdb    redis.UniversalClient // nil: local only
	o      options
	l1     *lru.Cache[string, *local[V]]
	flight singleflight.Group
	id     string // this instance, to skip its own invalidations

	// epoch grows with every invalidation received (and on resubscribe):
	// a Redis read that saw it change does not fill L1, since what it read
	// may be the value just invalidated.
	epoch      atomic.Uint64
	subscribed atomic.Bool // L1 is filled only while invalidations arrive

	stats  counters
	closed atomic.Bool
	stop   context.CancelFunc
	ps     *redis.PubSub // invalidations; nil without Redis or L1
	locker *lock.Locker  // WithDistributedLoad
	wg     sync.WaitGroup
}

type local[V any] struct {
	v        V
	negative bool
	expires  time.Time
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
	if client == nil && o.localSize == 0 {
		return nil, fmt.Errorf("%w: no Redis client and L1 off: nothing to cache in", ErrInvalid)
	}
	if client == nil && o.distLoad {
		return nil, fmt.Errorf("%w: WithDistributedLoad needs a Redis client", ErrInvalid)
	}
	var id [8]byte
	_, _ = crand.Read(id[:])
	c := &Cache[V]{rdb: client, o: o, id: hex.EncodeToString(id[:])}
	if o.distLoad {
		c.locker = lock.New(client, lock.WithKeyPrefix(o.prefix+"load:"))
	}
	if o.localSize > 0 {
		c.l1, _ = lru.New[string, *local[V]](o.localSize) // size > 0: no error
	}
	if client == nil {
		c.subscribed.Store(true)
		return c, nil
	}
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	if c.l1 != nil {
		c.ps = client.Subscribe(ctx, c.channel())
		c.wg.Add(1)
		go c.listen(ctx, c.ps)
	}
	return c, nil
}

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
	if err := c.check(key); err != nil {
		return zero, err
	}
	if v, ok, err := c.getLocal(key); ok {
		return v, err
	}
	if c.rdb == nil {
		return zero, ErrMiss
	}
	epoch := c.epoch.Load()
	pipe := c.rdb.Pipeline()
	get := pipe.Get(ctx, c.redisKey(key))
	pttl := pipe.PTTL(ctx, c.redisKey(key))
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) || errors.Is(get.Err(), redis.Nil) {
		c.stats.l2Misses.Add(1)
		return zero, ErrMiss
	}
	if err != nil {
		return zero, fmt.Errorf("cache: get %q: %w", key, err)
	}
	c.stats.l2Hits.Add(1)
	raw, _ := get.Bytes()
	e, err := c.decode(raw)
	if err != nil {
		return zero, fmt.Errorf("cache: get %q: %w", key, err)
	}
	if ttl := pttl.Val(); ttl > 0 && c.epoch.Load() == epoch {
		c.putLocal(key, e, ttl)
	}
	if e.negative {
		return zero, ErrNotFound
	}
	return e.v, nil
}

func (c *Cache[V]) getLocal(key string) (V, bool, error) {
	var zero V
	if c.l1 == nil {
		return zero, false, nil
	}
	e, ok := c.l1.Get(key)
	if !ok || time.Now().After(e.expires) {
		c.stats.l1Misses.Add(1)
		return zero, false, nil
	}
	c.stats.l1Hits.Add(1)
	if e.negative {
		return zero, true, ErrNotFound
	}
	return e.v, true, nil
}

// putLocal keeps e in L1 for the shorter of ttl and the L1 ttl, and only
// while invalidations are being received.
func (c *Cache[V]) putLocal(key string, e *local[V], ttl time.Duration) {
	if c.l1 == nil || !c.subscribed.Load() {
		return
	}
	e.expires = time.Now().Add(min(ttl, c.o.localTTL))
	if c.l1.Add(key, e) {
		c.stats.evictions.Add(1)
	}
}

func (c *Cache[V]) encode(v V) ([]byte, error) {
	if b, ok := any(v).([]byte); ok {
		return append([]byte{kindValue}, b...), nil
	}
	data, err := c.o.codec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cache: encode: %w", err)
	}
	return append([]byte{kindValue}, data...), nil
}

func (c *Cache[V]) decode(raw []byte) (*local[V], error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty entry", ErrInvalid)
	}
	e := &local[V]{}
	switch raw[0] {
	case kindNegative:
		e.negative = true
		return e, nil
	case kindValue:
	default:
		return nil, fmt.Errorf("%w: entry of unknown kind %q (not written by this package?)", ErrInvalid, raw[0])
	}
	if p, ok := any(&e.v).(*[]byte); ok {
		*p = append([]byte(nil), raw[1:]...)
		return e, nil
	}
	if err := c.o.codec.Unmarshal(raw[1:], &e.v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return e, nil
}

// jittered spreads d by ±jitter.
func (c *Cache[V]) jittered(d time.Duration) time.Duration {
	if c.o.jitter == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + c.o.jitter*(2*rand.Float64()-1)))
}

// Set stores v under key in Redis and L1 and evicts key from every other
// instance's L1.
func (c *Cache[V]) Set(ctx context.Context, key string, v V, opts ...SetOption) error {
	if err := c.check(key); err != nil {
		return err
	}
	so := setOptions{ttl: c.o.ttl}
	for _, opt := range opts {
		opt(&so)
	}
	if so.ttl <= 0 {
		return fmt.Errorf("%w: Set %q: ttl %v", ErrInvalid, key, so.ttl)
	}
	return c.store(ctx, key, &local[V]{v: v}, c.jittered(so.ttl))
}

// store writes e to Redis, announces it, then keeps it in L1.
func (c *Cache[V]) store(ctx context.Context, key string, e *local[V], ttl time.Duration) error {
	if c.rdb == nil {
		c.putLocal(key, e, ttl)
		return nil
	}
	raw := []byte{kindNegative}
	if !e.negative {
		var err error
		if raw, err = c.encode(e.v); err != nil {
			return err
		}
	}
	if c.l1 != nil {
		c.l1.Remove(key) // a failed write must not leave the old value here
	}
	pipe := c.rdb.Pipeline()
	pipe.Set(ctx, c.redisKey(key), raw, ttl)
	pipe.Publish(ctx, c.channel(), c.id+"\x00"+key)
	_, err := pipe.Exec(ctx)
	c.epoch.Add(1) // a read of the old value in flight must not fill L1
	if err != nil {
		return fmt.Errorf("cache: set %q: %w", key, err)
	}
	c.putLocal(key, e, ttl)
	return nil
}

// Delete removes keys from Redis and from every instance's L1.
func (c *Cache[V]) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := c.check(k); err != nil {
			return err
		}
		if c.l1 != nil {
			c.l1.Remove(k)
		}
	}
	if c.rdb == nil || len(keys) == 0 {
		return nil
	}
	// One DEL per key: in a Cluster the keys may sit in different slots.
	pipe := c.rdb.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, c.redisKey(k))
		pipe.Publish(ctx, c.channel(), c.id+"\x00"+k)
	}
	_, err := pipe.Exec(ctx)
	c.epoch.Add(1)
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
// caller stops waiting when ctx ends.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (V, error), opts ...LoadOption) (V, error) {
	v, err := c.Get(ctx, key)
	switch {
	case err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrClosed) || errors.Is(err, ErrInvalid):
		return v, err
	case !errors.Is(err, ErrMiss) && !c.o.fallback:
		return v, err
	}
	if load == nil {
		return v, fmt.Errorf("%w: GetOrLoad %q: nil loader", ErrInvalid, key)
	}
	so := setOptions{ttl: c.o.ttl}
	for _, opt := range opts {
		opt(&so)
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		lctx := context.WithoutCancel(ctx)
		// A caller that missed just before an earlier load stored its
		// value starts a new flight: look again before loading.
		if v, err := c.Get(lctx, key); err == nil || errors.Is(err, ErrNotFound) {
			return v, err
		}
		if c.locker != nil {
			held, v, err := c.awaitLoadLock(lctx, key)
			if held == nil {
				return v, err // another process loaded it, or Redis failed
			}
			defer held.Release(lctx)
		}
		c.stats.loads.Add(1)
		v, err := load(lctx)
		switch {
		case errors.Is(err, ErrNotFound):
			if serr := c.store(lctx, key, &local[V]{negative: true}, c.o.negativeTTL); serr != nil {
				c.o.logger.Warn("cache: storing a negative entry failed", "key", key, "err", serr)
			}
			return v, ErrNotFound
		case err != nil:
			c.stats.loadErrors.Add(1)
			return v, err
		}
		if serr := c.store(lctx, key, &local[V]{v: v}, c.jittered(so.ttl)); serr != nil {
			c.o.logger.Warn("cache: storing a loaded value failed", "key", key, "err", serr)
		}
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var zero V
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Close stops listening for invalidations. It is idempotent.
func (c *Cache[V]) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.stop != nil {
		c.stop()
	}
	var err error
	if c.ps != nil {
		err = c.ps.Close()
	}
	c.wg.Wait()
	return err
}

// loadLockTTL is the ttl of the distributed load lock, kept alive by its
// watchdog for as long as the load runs.
const loadLockTTL = 10 * time.Second

// awaitLoadLock takes the load lock for key, or waits until another
// process's load has stored the value (returned with a nil lock) or its
// lock is gone (then tries again). Having the lock, it looks at Redis once
// more, since the last holder may have stored the value just before.
func (c *Cache[V]) awaitLoadLock(ctx context.Context, key string) (*lock.Lock, V, error) {
	var zero V
	for {
		lk, err := c.locker.Obtain(ctx, key, loadLockTTL, lock.WithWatchdog())
		switch {
		case err == nil:
			if v, err := c.Get(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
				_ = lk.Release(ctx)
				return nil, v, err
			}
			return lk, zero, nil
		case !errors.Is(err, lock.ErrNotObtained):
			return nil, zero, fmt.Errorf("cache: load lock for %q: %w", key, err)
		}
		// Someone else loads: wait for the value or for the lock to go.
		for {
			if v, err := c.Get(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
				return nil, v, err
			}
			if _, err := c.locker.Holder(ctx, key); errors.Is(err, lock.ErrNotHeld) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
