package greyroute

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Router routes each tenant's calls to a service version and one of its
// instances, from a table it holds in memory: see the package doc's
// # Router. It is safe for concurrent use.
type Router struct {
	client redis.UniversalClient
	cfg    config
	tel    *routerTelemetry

	services atomic.Pointer[map[string]*svcSlot] // copy-on-write: a map is replaced when a service appears
	schemas  atomic.Pointer[schemaTable]

	mu     sync.Mutex                           // serializes installing tables; guards states
	states map[string]map[string]*endpointState // service → instance ID → live state
	watch  watchSet                             // Instances and Watch (router_watch.go)

	atomic *atomicState // WithAtomic's state, else nil (router_atomic.go)

	ps      *redis.PubSub
	pending pending // what change events asked to reload
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  atomic.Bool
	rb      *rollbacker // WithAutoRollback (rollback_run.go); nil: off

	regStreaks registryStreaks // services whose registry is failing (registry_health.go)

	rep *reporter // breaker transitions to write to Redis (router_report.go)
}

// NewRouter returns a Router reading the table through client. It
// subscribes to the change channel first and then loads every service and
// the tenants' schemas, so no change between the two is missed; it fails,
// with an error wrapping ErrUnavailable, when Redis cannot be reached
// then. A nil client or a bad option is an error wrapping ErrInvalid.
// Close stops it; the client stays the caller's.
func NewRouter(client redis.UniversalClient, opts ...Option) (*Router, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: NewRouter: nil client", ErrInvalid)
	}
	cfg, err := applyOptions("NewRouter", opts)
	if err != nil {
		return nil, err
	}
	r := &Router{client: client, cfg: cfg, states: map[string]map[string]*endpointState{}}
	r.pending.sig = make(chan struct{}, 1)
	r.rb = newRollbacker(r)
	if err := r.initAtomic(); err != nil {
		return nil, err
	}
	r.initReports()
	r.services.Store(&map[string]*svcSlot{})
	r.schemas.Store(&schemaTable{m: map[string]int{}})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.tel = newRouterTelemetry(r)
	fail := func(what string, err error) error {
		cancel()
		r.wg.Wait() // the registry watchers
		_ = r.ps.Close()
		r.tel.close()
		return wrapRedis(ctx, "new router: "+what, err)
	}
	r.ps = client.Subscribe(ctx, changedChannel(cfg.prefix))
	// Wait for the subscription's confirmation: from then on every change
	// is announced to us, so a load that follows misses nothing.
	if _, err := r.ps.ReceiveTimeout(ctx, subscribeTimeout); err != nil {
		return nil, fail("subscribe", err)
	}
	r.watchRegistries(ctx) // before the load, so a change made during it is not lost
	if err := r.resync(ctx); err != nil {
		return nil, fail("load", err)
	}
	r.tel.synced(r.cfg.clock())
	r.wg.Add(3)
	go r.receive(ctx)
	go r.load(ctx)
	r.rb.start(ctx)
	r.startAtomic(ctx)
	go r.report(ctx)
	return r, nil
}

// Close stops the Router's subscription and resync and releases its
// metrics; Picks after it return ErrClosed. It is idempotent.
func (r *Router) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	r.reportClosing()
	r.cancel()
	err := r.ps.Close() // unblocks a Receive waiting on the connection
	r.wg.Wait()
	r.tel.close()
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("greyroute: close router: %w", err)
	}
	return nil
}

// subscribeTimeout bounds NewRouter's wait for its subscription's
// confirmation: a Redis that accepts the connection and never answers
// must not hang it.
const subscribeTimeout = 10 * time.Second

// maxAcquire bounds the picks of one version in one Pick: a Picker may
// offer an endpoint whose breaker opened, or whose last probe slot was
// taken, after it looked; the Pick then asks again.
const maxAcquire = 3

// Pick returns the instance for tenant's next call to service: the
// tenant's version (pin, rollout or stable, gated by its schema) and one
// of its available instances, chosen by the service's Balancer. When that
// version has none, the fallback version's (WithFallbackVersion, else the
// table's) if the tenant's schema meets its requirement; never another
// version. End the call with Done, once.
//
// Errors: ErrUnknownTenant when service has no stable version and no pin
// for tenant (a service the Router has never seen included); ErrSchema
// when the tenant's schema is below even the stable version's
// requirement; ErrNoInstance when neither version has an available
// instance; ErrClosed after Close. Pick does no I/O and, when it
// succeeds, does not allocate; ctx is not consulted. In Atomic mode
// (WithAtomic) it is one round trip to Redis instead, bounded by ctx,
// and a Redis error wraps ErrUnavailable: see the package doc.
func (r *Router) Pick(ctx context.Context, tenant, service string) (Instance, error) {
	if r.closed.Load() {
		return Instance{}, fmt.Errorf("greyroute: pick service %q for tenant %q: %w", service, tenant, ErrClosed)
	}
	if r.atomic != nil {
		return r.pickAtomic(ctx, tenant, service)
	}
	return r.pickLocal(tenant, service, "")
}

// pickLocal is Pick in local mode. avoid, when set, is an instance not to
// return (the RoundTripper's retry after it refused a connection): when
// the Balancer offers it, another available instance of the same version
// is taken (pickVersion); the versions and the fallback are Pick's.
func (r *Router) pickLocal(tenant, service, avoid string) (Instance, error) {
	t := emptyTable
	if slot := (*r.services.Load())[service]; slot != nil {
		t = slot.t.Load()
	}
	schema := 0 // a service whose versions require no schema admits every tenant: no lookup
	if len(t.route.schemaReq) > 0 {
		schema = r.schemas.Load().m[tenant]
	}
	version, via, err := resolve(&t.route, tenant, service, schema)
	if err != nil {
		r.tel.picks[pickError].Add(1)
		return Instance{}, err
	}
	if inst, ok := r.pickVersion(t, version, tenant, avoid); ok {
		r.tel.okVia[via].Add(1)
		return inst, nil
	}
	if avoid == "" { // a retry's failed attempt already counted against the target
		r.rb.unavailable(t, version)
	}
	// The fallback is gated by the tenant's schema like any version: a
	// tenant is never sent to a version its data is not migrated for.
	if fb := t.fallback; fb != "" && fb != version && t.route.meets(fb, schema) {
		if inst, ok := r.pickVersion(t, fb, tenant, avoid); ok {
			r.tel.picks[pickFallback].Add(1)
			return inst, nil
		}
		r.tel.picks[pickError].Add(1)
		return Instance{}, fmt.Errorf("greyroute: pick service %q for tenant %q: no available instance of version %q nor of fallback %q: %w",
			service, tenant, version, fb, ErrNoInstance)
	}
	r.tel.picks[pickError].Add(1)
	return Instance{}, fmt.Errorf("greyroute: pick service %q for tenant %q: no available instance of version %q: %w",
		service, tenant, version, ErrNoInstance)
}

// emptyTable stands for a service the Router has not loaded.
var emptyTable = &svcTable{}

// pickVersion picks and acquires an endpoint of version, other than
// avoid when that is set.
func (r *Router) pickVersion(t *svcTable, version, tenant, avoid string) (Instance, bool) {
	p := t.picker(version)
	if p == nil {
		return Instance{}, false
	}
	for range maxAcquire {
		e := p.Pick(tenant)
		if e != nil && avoid != "" && e.inst.ID == avoid {
			e = otherThan(t.eps[version], avoid) // router_retry.go
		}
		if e == nil {
			return Instance{}, false
		}
		if tk, ok := e.state.acquire(); ok {
			tk.seq, tk.slot = e.state.done.track()
			inst := e.inst
			inst.picked, inst.tk, inst.router = e.state, tk, r
			if w := t.canary; w != nil && e.inst.Version == w.version {
				inst.win = w // a call on the rollout target: its Done feeds the auto-rollback
			}
			return inst, true
		}
	}
	return Instance{}, false
}

// Done ends the call Pick returned inst for: it releases its connection
// and feeds the instance's breaker, latency EWMA and health. A nil err is
// a success; context.Canceled (the client gave up) is neither success nor
// failure; any other error, a deadline included, is a failure. Done of an
// Instance this Router's Pick did not return (the zero Instance, one
// built by hand, another Router's) does nothing, and so does a second
// Done of the same pick — except beyond 64 calls in flight on one
// instance, where a pick goes untracked and a second Done of it counts
// twice (the connection count never goes below zero).
func (r *Router) Done(inst Instance, err error, latency time.Duration) {
	if inst.router != r || inst.picked == nil || !inst.picked.done.end(inst.tk.seq, inst.tk.slot) {
		return
	}
	inst.picked.release(inst.tk, err, latency)
	if inst.win != nil {
		r.rb.observe(inst.win, err)
	}
	if r.atomic != nil {
		r.atomic.done(r, inst.Service, inst.ID)
	}
}
