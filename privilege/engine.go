package privilege

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Engine answers access requests from a Store: RBAC through the user's
// effective roles, ABAC through the active policies, with an in-process
// cache of decisions (L1). It is safe for concurrent use.
type Engine struct {
	store Store
	o     options
	l1    *l1
	tel   *telemetry

	idx    atomic.Pointer[policyIndex] // the policies of the latest version loaded
	idxMu  sync.Mutex                  // one reload at a time
	closed atomic.Bool

	// afterDecide, when set by a test, runs after a decision is computed
	// and before it is cached: a write there races the cache fill.
	afterDecide func()
}

// NewEngine returns an Engine deciding from store.
func NewEngine(store Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, fmt.Errorf("privilege: new engine: %w: nil store", ErrInvalid)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("privilege: new engine: %w: nil option", ErrInvalid)
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("privilege: new engine: %w", err)
		}
	}
	e := &Engine{store: store, o: o, l1: newL1(o.l1Size, o.l1TTL)}
	e.tel = newTelemetry(o.meter)
	return e, nil
}

// Check decides req. It reads the store's Version first and caches the
// decision under it, so a decision made before a write is never served
// after the engine has seen the write.
//
// On an error (a bad request, the store unreachable, a closed engine) the
// Decision is a deny that says why: the engine fails closed.
func (e *Engine) Check(ctx context.Context, req Request) (Decision, error) {
	if e.closed.Load() {
		return e.fail(ctx, &req, Decision{Reason: "engine closed"}, ErrClosed)
	}
	v, err := e.store.Version(ctx)
	if err != nil {
		return e.fail(ctx, &req, Decision{Reason: "store unavailable"}, fmt.Errorf("privilege: check: version: %w", err))
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
	v, err := e.store.Version(ctx)
	if err != nil {
		err = fmt.Errorf("privilege: check batch: version: %w", err)
		for i := range out {
			out[i], _ = e.fail(ctx, &reqs[i], Decision{Reason: "store unavailable"}, err)
		}
		return out, err
	}
	var errs []error
	for i := range reqs {
		d, err := e.check(ctx, &reqs[i], v)
		out[i] = d
		if err != nil {
			errs = append(errs, fmt.Errorf("request %d: %w", i, err))
		}
	}
	return out, errors.Join(errs...)
}

func (e *Engine) check(ctx context.Context, req *Request, v uint64) (Decision, error) {
	if err := checkRequest(req); err != nil {
		return e.fail(ctx, req, Decision{Reason: err.Error(), Version: v}, err)
	}
	now := e.o.now()
	key := l1Key{req.Subject, req.Resource, req.Action, v}
	if d, ok := e.l1.get(key, now); ok {
		e.tel.hit(d.Allowed)
		e.audit(ctx, req, d, sourceL1)
		return d, nil
	}
	idx, err := e.policies(ctx, v)
	if err != nil {
		return e.fail(ctx, req, Decision{Reason: "store unavailable", Version: v}, err)
	}
	r, err := e.decide(ctx, req, idx, now)
	if err != nil {
		return e.fail(ctx, req, Decision{Reason: "store unavailable", Version: v}, err)
	}
	r.d.Version = v
	if e.afterDecide != nil {
		e.afterDecide()
	}
	if !r.attrDependent {
		e.l1.put(key, r.d, now, r.validUntil)
	}
	e.tel.miss(r.d.Allowed)
	e.audit(ctx, req, r.d, sourceComputed)
	return r.d, nil
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
		return fmt.Errorf("privilege: check: %w: empty subject", ErrInvalid)
	case req.Resource == "":
		return fmt.Errorf("privilege: check: %w: empty resource", ErrInvalid)
	case req.Action == "":
		return fmt.Errorf("privilege: check: %w: empty action", ErrInvalid)
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
	e.idxMu.Lock()
	defer e.idxMu.Unlock()
	prev := e.idx.Load()
	if prev != nil && prev.version >= v {
		return prev, nil
	}
	ps, err := e.store.Policies(ctx)
	if err != nil {
		return nil, fmt.Errorf("privilege: check: policies: %w", err)
	}
	idx, err := buildIndex(v, ps, prev)
	if err != nil {
		return nil, fmt.Errorf("privilege: check: stored policy: %w", err)
	}
	e.idx.Store(idx)
	return idx, nil
}

// Close stops the engine; later calls return ErrClosed. It does not close
// the store, which the caller owns. Close is idempotent.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.l1.purge()
	e.tel.close()
	return nil
}
