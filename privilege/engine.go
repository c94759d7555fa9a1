package privilege

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Engine answers access requests from a Store: RBAC through the user's
// effective roles, ABAC through the active policies, with decision caches
// in the process (L1) and, with WithRedis, shared in Redis (L2). It is
// safe for concurrent use.
type Engine struct {
	store Store
	o     options
	l1    *l1
	l2    *l2       // nil without WithRedis
	trk   *tracker  // nil: the store's Version is read on every check
	fo    *failOpen // nil: fail closed
	tel   *telemetry

	idx    atomic.Pointer[policyIndex] // the policies of the latest version loaded
	idxSem chan struct{}               // one reload at a time (a lock a waiter can leave at its ctx)
	closed atomic.Bool
	stop   context.CancelFunc // ends the watch and Redis goroutines
	wg     sync.WaitGroup

	// afterDecide, when set by a test, runs after a decision is computed
	// and before it is cached: a write there races the cache fill.
	afterDecide func()
}

// NewEngine returns an Engine deciding from store.
//
// If the store is a Watcher (PostgresStore), the engine tracks the
// store's version instead of reading it on every Check (see
// WithMaxStaleness); it then runs goroutines (the store's Watch and, with
// WithRedis, the Redis subscription and announcements) until Close.
func NewEngine(store Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, wrapOp("new engine", fmt.Errorf("%w: nil store", ErrInvalid))
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, wrapOp("new engine", fmt.Errorf("%w: nil option", ErrInvalid))
		}
		if err := opt(&o); err != nil {
			return nil, wrapOp("new engine", err)
		}
	}
	fo, err := newFailOpen(&o)
	if err != nil {
		return nil, wrapOp("new engine", err)
	}
	e := &Engine{store: store, o: o, l1: newL1(o.l1Size, o.l1TTL), fo: fo, idxSem: make(chan struct{}, 1)}
	// Only a Watcher store's version is tracked: any other store's own
	// writes would go unseen until the bound (nothing would announce them),
	// so its Version is read on every check, as a MemoryStore's is (an
	// atomic load).
	w, watcher := store.(Watcher)
	if watcher {
		e.trk = newTracker(o.maxStale, o.now, o.afterFunc)
	}
	if o.rdb != nil {
		id, err := storeID(store)
		if err != nil {
			return nil, wrapOp("new engine", err)
		}
		e.l2 = newL2(&o, id)
	}
	e.tel = newTelemetry(o.meter, e)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	if watcher {
		e.wg.Go(func() {
			if err := w.Watch(ctx, e.storeVersion); err != nil && ctx.Err() == nil {
				e.o.logger.Warn("privilege: store watch ended; versions are confirmed by reads only", "error", err)
			}
		})
	}
	if e.l2 != nil && e.trk != nil {
		e.wg.Go(func() { e.l2.publish(ctx, &e.trk.known) })
		e.wg.Go(func() { e.l2.subscribe(ctx, e.trk, o.onSubscribed, o.onMessage) })
	}
	return e, nil
}

// storeVersion takes a version from the store's Watch: this process's
// writes, and others' when the store announces them. A version it is the
// first to learn of is announced to the other instances over Redis.
func (e *Engine) storeVersion(v uint64) {
	if e.trk.raise(v) && e.l2 != nil {
		select {
		case e.l2.announce <- struct{}{}:
		default: // one is pending; it will send the latest
		}
	}
}

// version is the store version to decide at: the tracked one, or the
// store's own read now.
func (e *Engine) version(ctx context.Context) (uint64, error) {
	if e.trk != nil {
		return e.trk.version(ctx, e.store)
	}
	return e.store.Version(ctx)
}

// Check decides req at the store's current version (within the
// propagation bound when the version is tracked) and caches the decision
// under it, so a decision made before a write is never served after the
// engine has seen the write.
//
// On an error (a bad request, the store unreachable, a closed engine) the
// Decision is a deny that says why: the engine fails closed — unless
// WithFailOpen answers for an unreachable store, with a nil error and a
// Reason that says so.
func (e *Engine) Check(ctx context.Context, req Request) (Decision, error) {
	if e.closed.Load() {
		return e.fail(ctx, &req, Decision{Reason: "engine closed"}, ErrClosed)
	}
	v, err := e.version(ctx)
	if err != nil {
		return e.unavailable(ctx, &req, 0, wrapOp("check: version", err))
	}
	return e.check(ctx, &req, v)
}

// CheckBatch decides every request at one store version. Each failed
// request gets a deny Decision with its reason; the error joins the
// failures, each naming its index.
func (e *Engine) CheckBatch(ctx context.Context, reqs []Request) ([]Decision, error) {
	out := make([]Decision, len(reqs))
	if e.closed.Load() {
		for i := range out {
			out[i], _ = e.fail(ctx, &reqs[i], Decision{Reason: "engine closed"}, ErrClosed)
		}
		return out, ErrClosed
	}
	var errs []error
	v, err := e.version(ctx)
	for i := range reqs {
		var d Decision
		var rerr error
		if err != nil {
			d, rerr = e.unavailable(ctx, &reqs[i], 0, wrapOp("check batch: version", err))
		} else {
			d, rerr = e.check(ctx, &reqs[i], v)
		}
		out[i] = d
		if rerr != nil {
			errs = append(errs, wrapOp(fmt.Sprintf("check batch: request %d", i), rerr))
		}
	}
	return out, errors.Join(errs...)
}

// check decides req at version v: L1, then L2, then computed from the
// store, every tier filled after a computation.
//
// The labelling invariant: v was read (or learnt, after its commit)
// before any of the data the decision is computed from, so that data is
// at least as new as v. Labelling a decision with a version no newer than
// its data is what makes caching under the version safe; never read v
// after the data.
func (e *Engine) check(ctx context.Context, req *Request, v uint64) (Decision, error) {
	if err := checkRequest(req); err != nil {
		return e.fail(ctx, req, Decision{Reason: err.Error(), Version: v}, err)
	}
	key := l1Key{req.Subject, req.Resource, req.Action}
	if hit := e.l1.get(key, v, e.o.now); hit != nil {
		e.tel.decided(srcL1, hit.d.Allowed)
		if e.o.audit != nil {
			e.audit(ctx, req, hit.d, sourceL1)
		}
		return hit.d, nil
	}
	now := e.o.now()
	if e.l2 != nil {
		if d, until, ok := e.l2.get(ctx, v, key); ok && (until.IsZero() || now.Before(until)) {
			e.l1.put(key, v, d, now, until)
			e.fo.remember(key, d, now, until)
			e.tel.decided(srcL2, d.Allowed)
			e.audit(ctx, req, d, sourceL2)
			return d, nil
		}
	}
	idx, err := e.policies(ctx, v)
	if err != nil {
		return e.unavailable(ctx, req, v, err)
	}
	r, err := e.decide(ctx, req, idx, now)
	if err != nil {
		return e.unavailable(ctx, req, v, err)
	}
	e.fo.recovered()
	r.d.Version = v
	if e.afterDecide != nil {
		e.afterDecide()
	}
	if !r.attrDependent {
		e.l1.put(key, v, r.d, now, r.validUntil)
		if e.l2 != nil {
			e.l2.put(ctx, v, key, r.d, now, r.validUntil)
		}
		e.fo.remember(key, r.d, now, r.validUntil)
	}
	e.tel.decided(srcComputed, r.d.Allowed)
	e.audit(ctx, req, r.d, sourceComputed)
	return r.d, nil
}

// unavailable answers a request the store could not decide: from the
// last known decision under WithFailOpen when the store could not be
// reached (never for a cancelled call, nor for a fault in the data or
// the call: see unreachable), else a fail-closed deny.
func (e *Engine) unavailable(ctx context.Context, req *Request, v uint64, err error) (Decision, error) {
	down := unreachable(err)
	if e.fo != nil && ctx.Err() == nil && down && checkRequest(req) == nil {
		if d, ok := e.fo.answer(ctx, l1Key{req.Subject, req.Resource, req.Action}, e.o.now(), err); ok {
			e.tel.decided(srcFailOpen, d.Allowed)
			e.audit(ctx, req, d, sourceFailOpen)
			return d, nil
		}
	}
	reason := "store unavailable"
	if !down {
		reason = "store error" // the data or the call is at fault, not the store's reach
	}
	return e.fail(ctx, req, Decision{Reason: reason, Version: v}, err)
}

// fail makes d a fail-closed deny, counts and audits it.
func (e *Engine) fail(ctx context.Context, req *Request, d Decision, err error) (Decision, error) {
	d.Allowed = false
	e.tel.failed()
	e.audit(ctx, req, d, sourceError)
	return d, err
}

func checkRequest(req *Request) error {
	switch {
	case req.Subject == "":
		return wrapOp("check", fmt.Errorf("%w: empty subject", ErrInvalid))
	case req.Resource == "":
		return wrapOp("check", fmt.Errorf("%w: empty resource", ErrInvalid))
	case req.Action == "":
		return wrapOp("check", fmt.Errorf("%w: empty action", ErrInvalid))
	}
	return nil
}

// policies returns the policy index of version v or newer, loading it
// from the store when the one held is older. Policies read after v was
// read are at least as new as v, so labelling them v is safe.
func (e *Engine) policies(ctx context.Context, v uint64) (*policyIndex, error) {
	if idx := e.idx.Load(); idx != nil && idx.version >= v {
		return idx, nil
	}
	// Not a mutex: a reload by a caller with no deadline on a hung store
	// would hold every other check past its own ctx.
	select {
	case e.idxSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.idxSem }()
	prev := e.idx.Load()
	if prev != nil && prev.version >= v {
		return prev, nil
	}
	ps, err := e.store.Policies(ctx)
	if err != nil {
		return nil, wrapOp("check: policies", err)
	}
	idx, err := buildIndex(v, ps, prev)
	if err != nil {
		return nil, wrapOp("check: stored policy", err)
	}
	e.idx.Store(idx)
	return idx, nil
}

// Close stops the engine and its goroutines; later calls return
// ErrClosed. It does not close the store or the Redis client, which the
// caller owns. Close is idempotent.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.stop()
	e.wg.Wait()
	if e.trk != nil {
		e.trk.stop()
	}
	e.l1.purge()
	e.tel.close()
	return nil
}
