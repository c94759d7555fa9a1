package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/resilience"
)

// Store is the system of record behind a write-through (WithStore) or
// write-behind (WithWriteBehind) cache.
type Store[V any] interface {
	// Save persists every value of batch under its key. It must be
	// idempotent: a batch that failed is saved again, merged with newer
	// writes.
	Save(ctx context.Context, batch map[string]V) error
}

// StoreFunc adapts a function to Store.
type StoreFunc[V any] func(ctx context.Context, batch map[string]V) error

// Save implements Store.
func (f StoreFunc[V]) Save(ctx context.Context, batch map[string]V) error { return f(ctx, batch) }

// WithStore makes the cache write-through, overriding the default of
// caching only: Set puts a write marker in the key's place in Redis (a
// miss for readers, and loads meanwhile are not cached), saves the value
// to s, then caches it in the marker's place. If the marker is gone by
// then (another write overlapped this one, or Delete, InvalidateTags or
// eviction removed it), a fresh write marker takes the key's place: the
// order in which s took the writes is unknown, and a load meanwhile may
// have read either, so no value may be cached until the marker expires
// (the load timeout plus a second; loads meanwhile read s and are not
// cached). Once s has the value, the fill runs even if ctx has ended
// (for up to 5 seconds), so that a caller going away does not leave an
// older value cached.
// A failed save leaves the key uncached, so that the next load reads s;
// if the marker cannot be written, Set fails without saving. Only if
// Redis fails for that last fill (the error says "saved to the store")
// can an older value a load cached stay until its TTL ends. Should the
// process die between marker and value, the key stays a miss (loads of it
// are not cached) until the marker expires, after the load timeout plus
// a second. V must be the Cache's value type.
func WithStore[V any](s Store[V]) Option {
	return func(o *options) error {
		if s == nil {
			return fmt.Errorf("%w: WithStore: nil store", ErrInvalid)
		}
		if o.store != nil {
			return fmt.Errorf("%w: WithStore: a store is set already", ErrInvalid)
		}
		o.store = s
		return nil
	}
}

// WithWriteBehind makes the cache write-behind, overriding the default of
// caching only: Set caches the value and returns; the value reaches s
// later, writes to one key coalesced (the last one wins), in batches of at
// most batch keys, saved when batch keys are waiting or every interval.
// A failed save is retried with backoff (50ms doubling to 5s), merged
// with the writes made meanwhile. Shutdown (and Close, for up to 10s)
// saves what is waiting. Stats().PendingWrites counts the keys whose last
// write is not saved yet.
//
// Loss window: writes not yet saved live only in this process. If it dies
// they are lost — at most one interval's worth, or more while s is
// failing. Delete and InvalidateTags do not cancel waiting writes, and
// GetOrLoad in this process serves a waiting write rather than load what
// s holds (older); other processes do not see waiting writes, so one that
// loads the key after its entry left Redis reads s.
func WithWriteBehind[V any](s Store[V], batch int, interval time.Duration) Option {
	return func(o *options) error {
		switch {
		case s == nil:
			return fmt.Errorf("%w: WithWriteBehind: nil store", ErrInvalid)
		case batch <= 0 || interval <= 0:
			return fmt.Errorf("%w: WithWriteBehind(batch %d, interval %v): want both > 0", ErrInvalid, batch, interval)
		case o.store != nil:
			return fmt.Errorf("%w: WithWriteBehind: a store is set already", ErrInvalid)
		}
		o.store = s
		o.behind = &behindOptions{batch: batch, interval: interval}
		return nil
	}
}

type behindOptions struct {
	batch    int
	interval time.Duration
}

// closeFlushTimeout bounds how long Close waits for waiting writes to be
// saved; Shutdown takes a ctx instead.
const closeFlushTimeout = 10 * time.Second

// storeFor checks that the configured store holds V values.
func storeFor[V any](s any) (Store[V], error) {
	if s == nil {
		return nil, nil
	}
	st, ok := s.(Store[V])
	if !ok {
		return nil, fmt.Errorf("%w: the store given to WithStore/WithWriteBehind is a %T, not a Store[%v]",
			ErrInvalid, s, reflect.TypeFor[V]())
	}
	return st, nil
}

// writeBehind holds writes not yet saved and saves them from one
// goroutine.
type writeBehind[V any] struct {
	store  Store[V]
	o      behindOptions
	logger *slog.Logger

	mu      sync.Mutex
	pending map[string]V
	saving  map[string]V // the batch being saved
	// writing counts, per key, the Sets between their Redis write and
	// their queuing here: a load meanwhile may read the store's older
	// value, and must not cache it.
	writing  map[string]int
	stopping bool // Shutdown began: no more writes

	// order serialises, per key stripe, a Set's Redis write with its
	// queuing, so that overlapping Sets of a key reach the queue in the
	// order Redis took them: the cache and the store end with one value.
	order [64]sync.Mutex
	seed  maphash.Seed
	// onWait, if set (tests), runs when a Set waits for order.
	onWait func(key string)

	kick chan struct{} // a batch is full
	stop chan struct{} // closed by Shutdown: drain and exit
	done chan struct{} // closed when the flusher has exited
	// ctx is what Save runs with; cancelled once Shutdown gives up.
	ctx    context.Context
	cancel context.CancelFunc

	saves, saveErrors atomic.Int64
}

func newWriteBehind[V any](s Store[V], o behindOptions, logger *slog.Logger) *writeBehind[V] {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeBehind[V]{store: s, o: o, logger: logger, pending: map[string]V{}, writing: map[string]int{}, seed: maphash.MakeSeed(),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	go w.run()
	return w
}

// begin announces a write of key about to reach Redis.
func (w *writeBehind[V]) begin(key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		return ErrClosed
	}
	w.writing[key]++
	return nil
}

// end closes what begin opened, queuing v if the cache took it (ok).
func (w *writeBehind[V]) end(key string, v V, ok bool) error {
	w.mu.Lock()
	if w.writing[key]--; w.writing[key] == 0 {
		delete(w.writing, key)
	}
	if !ok {
		w.mu.Unlock()
		return nil
	}
	if w.stopping {
		w.mu.Unlock()
		return ErrClosed
	}
	w.pending[key] = v
	full := len(w.pending) >= w.o.batch
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// peek returns key's last write not yet in the store, if any, and whether
// a write of key is on its way here (busy).
func (w *writeBehind[V]) peek(key string) (v V, ok, busy bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	busy = w.writing[key] > 0
	if v, ok = w.pending[key]; !ok {
		v, ok = w.saving[key]
	}
	return v, ok, busy
}

// waiting counts the keys whose last write is not saved yet.
func (w *writeBehind[V]) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) + len(w.saving)
}

func (w *writeBehind[V]) run() {
	defer close(w.done)
	tick := time.NewTicker(w.o.interval)
	defer tick.Stop()
	bo := retrying.NewLoopBackOff(resilience.RetryPolicy{})
	var retry *time.Timer
	for {
		tickC, kickC := tick.C, w.kick
		var retryC <-chan time.Time
		if retry != nil { // backing off: only the retry timer or stop
			tickC, kickC, retryC = nil, nil, retry.C
		}
		select {
		case <-w.stop:
			if retry != nil {
				retry.Stop()
			}
			w.drain(bo)
			return
		case <-tickC:
		case <-kickC:
		case <-retryC:
		}
		retry = nil
		if err := w.flush(); err != nil {
			retry = time.NewTimer(bo.NextBackOff())
			continue
		}
		bo.Reset()
	}
}

// drain saves everything waiting, retrying with backoff, until nothing
// waits or Shutdown cancels w.ctx.
func (w *writeBehind[V]) drain(bo interface{ NextBackOff() time.Duration }) {
	for w.waiting() > 0 {
		if w.flush() == nil {
			continue
		}
		select {
		case <-time.After(bo.NextBackOff()):
		case <-w.ctx.Done():
			return
		}
	}
}

// flush saves everything waiting, in batches of at most o.batch keys.
func (w *writeBehind[V]) flush() error {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.mu.Unlock()
			return nil
		}
		batch := w.pending
		if len(batch) > w.o.batch {
			batch = make(map[string]V, w.o.batch)
			for k, v := range w.pending {
				if len(batch) == w.o.batch {
					break
				}
				batch[k] = v
				delete(w.pending, k)
			}
		} else {
			w.pending = make(map[string]V, len(batch))
		}
		w.saving = batch
		w.mu.Unlock()

		err := w.save(batch)
		w.mu.Lock()
		w.saving = nil
		if err != nil {
			for k, v := range batch {
				if _, newer := w.pending[k]; !newer {
					w.pending[k] = v
				}
			}
		}
		w.mu.Unlock()
		if err != nil {
			w.saveErrors.Add(1)
			w.logger.Warn("cache: write-behind save failed; retrying", "keys", len(batch), "err", err)
			return err
		}
		w.saves.Add(1)
	}
}

// save calls the store, a panic counted as a failure.
func (w *writeBehind[V]) save(batch map[string]V) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cache: store panicked: %v", p)
		}
	}()
	return w.store.Save(w.ctx, batch)
}

// shutdown stops taking writes and waits until everything waiting is
// saved or ctx ends; then it reports what was not saved.
func (w *writeBehind[V]) shutdown(ctx context.Context) error {
	w.mu.Lock()
	first := !w.stopping
	w.stopping = true
	w.mu.Unlock()
	if first {
		close(w.stop)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	if n := w.waiting(); n > 0 {
		return fmt.Errorf("cache: %d write-behind writes not saved: %w", n, ErrUnsaved)
	}
	return nil
}

// setThrough is Set with WithStore (see there): marker, save, fill.
func (c *Cache[V]) setThrough(ctx context.Context, key string, v V, so setOptions) (uint64, error) {
	if c.rdb == nil {
		s := c.ep.snap(key) // before the save: a write that overlaps it is seen
		if err := c.through.Save(ctx, map[string]V{key: v}); err != nil {
			c.invalidate(key)
			return 0, fmt.Errorf("cache: set %q: store: %w", key, err)
		}
		return c.store(ctx, key, &entry[V]{v: v}, c.jittered(so.ttl), so.tags, s)
	}
	marker := makeHead(kindWriting, newWriteID())
	c.invalidate(key)
	s := c.ep.snap(key)
	pipe := c.rdb.Pipeline()
	pipe.Set(ctx, c.redisKey(key), marker, c.leaseTTL())
	pipe.Publish(ctx, c.channel(), c.message(newWriteID(), msgKey, key))
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("cache: set %q: not saved: write marker: %w", key, err)
	}
	// failed removes the marker, if it is still ours, so that loads
	// read the store at once rather than when the marker expires.
	failed := func(err error) (uint64, error) {
		c.afterWrite(key, nil, 0, s, false)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_, _ = c.fillIf(rctx, key, marker, nil, 0, false, newWriteID())
		return 0, err
	}
	if err := c.through.Save(ctx, map[string]V{key: v}); err != nil {
		return failed(fmt.Errorf("cache: set %q: store: %w", key, err))
	}
	// Saved: the cache must now follow, even if the caller has gone away
	// meanwhile — else what a load cached before the save could stay.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	ttl := c.jittered(so.ttl)
	e := &entry[V]{v: v, id: newWriteID()}
	e.staleAt = time.Now().Add(ttl)
	c.seen.Add(e.id, struct{}{})
	var err error
	if len(so.tags) > 0 {
		if e.tags, err = c.tagVersions(wctx, key, so.tags, ttl); err != nil {
			return failed(fmt.Errorf("cache: set %q: saved to the store, not cached: %w", key, err))
		}
	}
	raw, err := c.encode(e)
	if err != nil {
		return failed(fmt.Errorf("cache: set %q: saved to the store, not cached: %w", key, err))
	}
	done, err := c.fillIf(wctx, key, marker, raw, ttl, true, e.id)
	c.afterWrite(key, e, ttl, s, err == nil && done == fillDone)
	if err != nil {
		return 0, fmt.Errorf("cache: set %q: saved to the store; Redis not updated (its key may serve an older value until it expires): %w", key, err)
	}
	return e.id, nil
}

// setBehind is Set with WithWriteBehind: the cache, then the queue, one
// Set of a key (stripe) at a time. The write is announced to the queue
// first (begin), so that a load in between does not cache what the store
// still holds.
func (c *Cache[V]) setBehind(ctx context.Context, key string, v V, so setOptions) (uint64, error) {
	if err := c.behind.begin(key); err != nil {
		return 0, fmt.Errorf("cache: set %q: %w", key, err)
	}
	mu := &c.behind.order[maphash.String(c.behind.seed, key)%uint64(len(c.behind.order))]
	if !mu.TryLock() {
		if c.behind.onWait != nil {
			c.behind.onWait(key)
		}
		mu.Lock()
	}
	defer mu.Unlock()
	write, err := c.store(ctx, key, &entry[V]{v: v}, c.jittered(so.ttl), so.tags, c.ep.snap(key))
	if qerr := c.behind.end(key, v, err == nil); qerr != nil {
		return 0, fmt.Errorf("cache: set %q: cached, not queued for the store: %w", key, qerr)
	}
	return write, err
}
