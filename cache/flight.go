package cache

import (
	"context"
	"errors"
	"fmt"
)

// Flights: concurrent misses of one key in this process share one load.
// Unlike x/sync/singleflight, a flight is bounded and can be abandoned:
// its ctx carries the values of the caller that started it (trace span,
// tenant, read-your-writes tokens) but not its cancellation, and ends at
// the load timeout (WithLoadTimeout), at Close, or as soon as no caller
// waits for it any more, so that neither a hung loader nor a stuck wait
// holds the key for the whole process — once a flight is over or
// abandoned, the next miss starts a new one. A loader that panics fails
// the flight: every caller gets an error carrying the panic value.

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
		fctx, cancel := c.flightCtx(ctx)
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

// flightCtx is the ctx of a flight started by a caller with ctx: its
// values without its cancellation, ended by the load timeout and by
// Close (and by cancel, which the last caller leaving calls).
func (c *Cache[V]) flightCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	fctx, cancelT := context.WithTimeoutCause(context.WithoutCancel(ctx), c.o.loadTimeout, errLoadTimeout)
	stop := context.AfterFunc(c.bgCtx, cancelT) // Close
	return fctx, func() { stop(); cancelT() }
}

// recovered turns a panic value into an error wrapping ErrPanic (and the
// value itself, if it is an error).
func recovered(what, key string, p any) error {
	if err, ok := p.(error); ok {
		return fmt.Errorf("%w: %s %q: %w", ErrPanic, what, key, err)
	}
	return fmt.Errorf("%w: %s %q: %v", ErrPanic, what, key, p)
}

// fly runs a flight and hands its result to the callers; a panic on the
// way (a codec's: the loader's own is caught in produce) is their error,
// not the process's end.
func (c *Cache[V]) fly(key string, f *flight[V], run func(ctx context.Context) (*entry[V], error)) {
	e, err := func() (e *entry[V], err error) {
		defer func() {
			if p := recover(); p != nil {
				e, err = nil, recovered("load", key, p)
			}
		}()
		return run(f.ctx)
	}()
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
