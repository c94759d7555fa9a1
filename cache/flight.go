package cache

import (
	"context"
	"errors"
	"fmt"
)

// Flights: concurrent misses of one key in this process share one load.
// Unlike x/sync/singleflight, a flight is bounded and can be abandoned:
// it runs under the cache's lifetime with the load timeout
// (WithLoadTimeout), and is cancelled as soon as no caller waits for it
// any more, so that neither a hung loader nor a stuck wait holds the key
// for the whole process — once a flight is over or abandoned, the next
// miss starts a new one.

// flight is one load of a key, shared by the callers that missed it.
type flight[V any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when e and err are set
	e      *entry[V]
	err    error
	// callers still waiting; guarded by Cache.flightMu.
	callers int
}

// errLoadTimeout is the cause a flight's ctx ends with at its timeout.
var errLoadTimeout = errors.New("cache: load timed out")

// joinFlight returns the result of key's flight, starting one running
// run if none is under way; it stops waiting when ctx ends.
func (c *Cache[V]) joinFlight(ctx context.Context, key string, run func(ctx context.Context) (*entry[V], error)) (*entry[V], error) {
	if err := ctx.Err(); err != nil {
		return nil, err // no flight for a caller that will not wait
	}
	c.flightMu.Lock()
	f := c.flights[key]
	if f == nil || f.ctx.Err() != nil { // none, or one past its end
		fctx, cancel := context.WithTimeoutCause(c.bgCtx, c.o.loadTimeout, errLoadTimeout)
		f = &flight[V]{ctx: fctx, cancel: cancel, done: make(chan struct{})}
		if !c.spawn(func() { c.fly(key, f, run) }) {
			c.flightMu.Unlock()
			cancel()
			return nil, ErrClosed
		}
		c.flights[key] = f
	}
	f.callers++
	c.flightMu.Unlock()

	select {
	case <-f.done:
		return f.e, f.err
	case <-ctx.Done():
		c.leaveFlight(key, f)
		return nil, ctx.Err()
	case <-f.ctx.Done():
		select {
		case <-f.done: // finished just as it ended
			return f.e, f.err
		default:
		}
		c.leaveFlight(key, f)
		return nil, c.flightErr(key, f)
	}
}

// fly runs a flight and hands its result to the callers.
func (c *Cache[V]) fly(key string, f *flight[V], run func(ctx context.Context) (*entry[V], error)) {
	e, err := run(f.ctx)
	if err != nil && f.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = c.flightErr(key, f)
	}
	c.flightMu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	c.flightMu.Unlock()
	f.e, f.err = e, err
	close(f.done)
	f.cancel()
}

// leaveFlight records that a caller stopped waiting: the last one out
// cancels the flight, and a flight past its end is forgotten, so that the
// next miss starts afresh.
func (c *Cache[V]) leaveFlight(key string, f *flight[V]) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	f.callers--
	if f.callers > 0 && f.ctx.Err() == nil {
		return
	}
	f.cancel()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
}

// flightErr says why a flight's ctx ended.
func (c *Cache[V]) flightErr(key string, f *flight[V]) error {
	switch cause := context.Cause(f.ctx); {
	case errors.Is(cause, errLoadTimeout):
		return fmt.Errorf("cache: load %q: not done within %v (WithLoadTimeout): %w", key, c.o.loadTimeout, context.DeadlineExceeded)
	case c.closed.Load():
		return ErrClosed
	default: // abandoned by every caller
		return context.Canceled
	}
}
