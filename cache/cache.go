package cache

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

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
	// ErrPanic: a loader (or the codec) panicked; the error carries the
	// panic value (and wraps it, if it is an error). The panic is not
	// re-raised: it would end the process from a background goroutine.
	ErrPanic = errors.New("cache: panic")
	// ErrLeftBehind: Shutdown or Close ended with loads still running
	// (loaders that ignore their ctx); they end on their own later.
	ErrLeftBehind = errors.New("cache: loads left running")
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

	// ep keeps what a read or write saw before an invalidation out of
	// the local layers (local.go).
	ep epochs
	// healthy: invalidations are known to arrive (the subscription is
	// confirmed and answers pings). The local layers serve and fill only
	// while it holds.
	healthy atomic.Bool

	flightMu   sync.Mutex
	flights    map[string]*flight[V]
	refreshing sync.Map // keys being refreshed ahead
	// forceRefresh makes every hit due for a refresh (tests only:
	// export_test.go), so that a refresh races a write on cue.
	forceRefresh atomic.Bool
	locker       *lock.Locker // WithDistributedLoad
	through      Store[V]     // WithStore
	behind       *writeBehind[V]

	stats  counters
	tel    *telemetry
	closed atomic.Bool
	bgMu   sync.Mutex // orders background starts before Close's Wait
	bgCtx  context.Context
	stop   context.CancelFunc
	psMu   sync.Mutex
	ps     *redis.PubSub // the invalidation subscription of the moment
	wg     sync.WaitGroup
	// running counts the goroutines wg waits for, for Shutdown's error.
	running atomic.Int64
	// releasePrefix frees the prefix for caches made later (keys.go).
	releasePrefix func()
}

// New returns a cache on client (standalone, Sentinel or Cluster), or an
// in-process cache only when client is nil.
func New[V any](client redis.UniversalClient, opts ...Option) (*Cache[V], error) {
	o := options{prefix: "cache:", localSize: 10_000, localTTL: time.Minute, ttl: time.Hour, jitter: 0.1,
		negativeTTL: 10 * time.Second, codec: JSON{}, logger: slog.Default(), loadTimeout: 30 * time.Second,
		pingEvery: time.Second, meter: otel.GetMeterProvider()}
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
	release := func() {}
	if client != nil {
		if release, err = claimPrefix(client, o.prefix); err != nil {
			return nil, err
		}
	}
	var id [8]byte
	_, _ = crand.Read(id[:])
	c := &Cache[V]{rdb: client, o: o, id: hex.EncodeToString(id[:]), tagSeen: map[string]string{},
		flights: map[string]*flight[V]{}, releasePrefix: release}
	c.ep.seed = maphash.MakeSeed()
	c.seen, _ = lru.New[uint64, struct{}](seenWrites) // size > 0: no error
	c.bgCtx, c.stop = context.WithCancel(context.Background())
	if o.distLoad {
		c.locker = lock.New(client, lock.WithKeyPrefix(c.lockPrefix()))
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
	c.tel = newTelemetry(c)
	if client == nil || (c.l1 == nil && c.hotL == nil) {
		c.healthy.Store(true) // nothing to invalidate, or no one to miss it
		return c, nil
	}
	c.background(c.listen)
	return c, nil
}

// seenWrites bounds how many recent writes an instance remembers for
// read-your-writes: a token for a write older than that reads Redis.
const seenWrites = 8192

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

// lookup finds key's entry in the local layers, else in Redis.
func (c *Cache[V]) lookup(ctx context.Context, key string) (*entry[V], error) {
	e, _, err := c.lookupStale(ctx, key)
	return e, err
}

// lookupStale is lookup that also returns, on a miss for a stale entry
// (one of its tags was invalidated), that entry's head, which a lease may
// replace.
func (c *Cache[V]) lookupStale(ctx context.Context, key string) (e *entry[V], stale string, err error) {
	if err := c.check(key); err != nil {
		return nil, "", err
	}
	if e, ok := c.getLocal(ctx, key); ok {
		return e, "", nil
	}
	if c.rdb == nil {
		return nil, "", ErrMiss
	}
	return c.lookupRedis(ctx, key)
}

// lookupAgain is a flight's look before it loads: in Redis only when
// there is a Redis, since the flight serves callers that skipped their
// local copy for a reason (read-your-writes tokens of their own, not the
// flight's); in the local layers when there is none.
func (c *Cache[V]) lookupAgain(ctx context.Context, key string) (e *entry[V], stale string, err error) {
	if c.rdb == nil {
		return c.lookupStale(ctx, key)
	}
	if err := c.check(key); err != nil {
		return nil, "", err
	}
	return c.lookupRedis(ctx, key)
}

// lookupRedis is lookupStale past the local layers.
func (c *Cache[V]) lookupRedis(ctx context.Context, key string) (e *entry[V], stale string, err error) {
	s := c.ep.snap(key)
	raw, ttl, err := c.readRedis(ctx, key)
	switch {
	case errors.Is(err, redis.Nil):
		c.stats.l2Misses.Add(1)
		return nil, "", ErrMiss
	case err != nil:
		// Redis cannot be reached: a local copy kept while the
		// invalidation channel was live is the best there is.
		if !c.healthy.Load() {
			if e, ok := c.localCopy(ctx, key); ok {
				return e, "", nil
			}
		}
		return nil, "", fmt.Errorf("cache: get %q: %w", key, err)
	}
	e, err = c.decode(raw)
	switch {
	case errors.Is(err, errPlaceholder): // a load or a write is under way
		c.stats.l2Misses.Add(1)
		return nil, "", ErrMiss
	case err != nil:
		return nil, "", fmt.Errorf("cache: get %q: %w", key, err)
	}
	if len(e.tags) > 0 {
		current, err := c.tagsCurrentInRedis(ctx, e.tags)
		if err != nil {
			return nil, "", fmt.Errorf("cache: get %q: %w", key, err)
		}
		if !current { // a tag was invalidated since the entry was written
			c.stats.l2Misses.Add(1)
			return nil, e.head(), ErrMiss
		}
	}
	c.stats.l2Hits.Add(1)
	if ttl > 0 {
		e.staleAt = time.Now().Add(ttl)
		c.fill(key, e, ttl, s)
	}
	return e, "", nil
}

// readRedis reads key's raw entry, and its remaining ttl when a local
// layer or refresh-ahead needs it (else ttl is 0: one command, not two).
func (c *Cache[V]) readRedis(ctx context.Context, key string) (raw []byte, ttl time.Duration, err error) {
	rk := c.redisKey(key)
	if c.l1 == nil && c.hotL == nil && c.o.beta == 0 {
		raw, err = c.rdb.Get(ctx, rk).Bytes()
		return raw, 0, err
	}
	pipe := c.rdb.Pipeline()
	get := pipe.Get(ctx, rk)
	pttl := pipe.PTTL(ctx, rk)
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
	var write uint64
	var err error
	switch {
	case c.through != nil:
		write, err = c.setThrough(ctx, key, v, so)
	case c.behind != nil:
		write, err = c.setBehind(ctx, key, v, so)
	default:
		write, err = c.store(ctx, key, &entry[V]{v: v}, c.jittered(so.ttl), so.tags, c.ep.snap(key))
	}
	if err != nil {
		return err
	}
	if so.token != nil {
		*so.token = Token{Key: key, write: write}
	}
	return nil
}

// store writes e to Redis under tags, announces it, then keeps it in L1
// unless a write or invalidation of key overlapped it since s. It
// returns the write's id. A plain SET: it replaces any lease, so a load
// under way cannot fill over it.
func (c *Cache[V]) store(ctx context.Context, key string, e *entry[V], ttl time.Duration, tags []string, s snapshot) (uint64, error) {
	write := newWriteID()
	e.id = write
	c.seen.Add(write, struct{}{})
	e.staleAt = time.Now().Add(ttl)
	if c.rdb == nil {
		e.tags = c.localTagVersions(tags)
		c.afterWrite(key, e, ttl, s, true)
		return write, nil
	}
	if len(tags) > 0 {
		var err error
		if e.tags, err = c.tagVersions(ctx, key, tags, ttl); err != nil {
			c.afterWrite(key, nil, 0, s, false)
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
	c.afterWrite(key, e, ttl, s, err == nil)
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
// load error is returned and not cached. What a load returns is cached
// only if no write of the key (Set, Delete, InvalidateTags of its tags)
// came while it ran: the write wins. With WithWriteBehind, a write still
// waiting for the store is served instead of loading.
//
// The load runs with a context that ends at the load timeout
// (WithLoadTimeout), at Close, or once every caller waiting for it has
// given up; this caller stops waiting when ctx ends. With
// WithRefreshAhead, a hit close to its expiry may start a reload in the
// background (see there).
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
			c.refreshAhead(key, load, so, e)
		}
		return e.v, nil
	case errors.Is(err, ErrClosed) || errors.Is(err, ErrInvalid):
		return zero, err
	case !errors.Is(err, ErrMiss) && !c.o.fallback:
		return zero, err
	}
	e, err = c.joinFlight(ctx, key, func(fctx context.Context) (*entry[V], error) {
		return c.loadFlight(fctx, key, load, so)
	})
	switch {
	case err != nil:
		return zero, err
	case e.negative:
		return zero, ErrNotFound
	}
	return e.v, nil
}

// Shutdown saves what write-behind holds (waiting until ctx ends at the
// most), then closes the cache as Close does. Writes the store has not
// taken by then are lost: the error says how many (ErrUnsaved). Loads
// under way are cancelled, and waited for until ctx ends: a loader that
// ignores its ctx is then left running (ErrLeftBehind); what it returns
// is not cached, and its goroutine ends with it.
func (c *Cache[V]) Shutdown(ctx context.Context) error {
	c.bgMu.Lock()
	first := !c.closed.Swap(true)
	c.bgMu.Unlock()
	if !first {
		return nil
	}
	c.releasePrefix()
	var errs []error
	if c.behind != nil {
		errs = append(errs, c.behind.shutdown(ctx))
	}
	c.stop()
	c.psMu.Lock()
	if c.ps != nil {
		_ = c.ps.Close() // interrupts the listener's Receive
	}
	c.psMu.Unlock()
	waited := make(chan struct{})
	go func() { c.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		// Loaders that ignore their (cancelled) ctx: leave them. What
		// they load later is not cached (their flights are over), and
		// the waiting goroutine ends with the last of them.
		select {
		case <-waited:
		default:
			errs = append(errs, fmt.Errorf("cache: shutdown: %d loads or background tasks still running: %w",
				c.running.Load(), ErrLeftBehind))
		}
	}
	c.tel.close()
	return errors.Join(errs...)
}

// Close closes the cache: it saves what write-behind holds and waits for
// loads under way (cancelled) to end, for up to 10 seconds in all (use
// Shutdown to choose), and stops every background task. It
// is idempotent; afterwards every method returns ErrClosed.
func (c *Cache[V]) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
	defer cancel()
	return c.Shutdown(ctx)
}

// background runs f on its own goroutine until Close, unless the cache
// is closed already.
func (c *Cache[V]) background(f func(ctx context.Context)) bool {
	return c.spawn(func() { f(c.bgCtx) })
}

// spawn runs f on its own goroutine, which Close waits for, unless the
// cache is closed already.
func (c *Cache[V]) spawn(f func()) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.wg.Add(1)
	c.running.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.running.Add(-1)
		f()
	}()
	return true
}
