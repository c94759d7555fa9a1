package cache

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/internal/resilience"
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
// caching only: Set saves the value to s first and caches it only once s
// has taken it, so a failed save leaves the cache as it was. V must be
// the Cache's value type.
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
// failing. Delete and InvalidateTags do not cancel waiting writes.
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

	mu       sync.Mutex
	pending  map[string]V
	saving   int  // keys in the batch being saved
	stopping bool // Shutdown began: no more writes

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
	w := &writeBehind[V]{store: s, o: o, logger: logger, pending: map[string]V{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	go w.run()
	return w
}

// add queues a write.
func (w *writeBehind[V]) add(key string, v V) error {
	w.mu.Lock()
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

// waiting counts the keys whose last write is not saved yet.
func (w *writeBehind[V]) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) + w.saving
}

func (w *writeBehind[V]) run() {
	defer close(w.done)
	tick := time.NewTicker(w.o.interval)
	defer tick.Stop()
	bo := resilience.RetryPolicy{MaxAttempts: -1, MaxElapsedTime: -1}.NewLoopBackOff()
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
		w.saving = len(batch)
		w.mu.Unlock()

		err := w.save(batch)
		w.mu.Lock()
		w.saving = 0
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
