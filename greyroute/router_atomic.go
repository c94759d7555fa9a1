package greyroute

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/resilience"
)

// Atomic mode (WithAtomic): each Pick is one script on the service's keys
// that resolves the tenant's version, balances with state every Router
// shares and counts the connection; Done gives the connection back through
// a background flusher. See the package doc's # Atomic mode.
var (
	//go:embed scripts/pick.lua
	pickLua string
	//go:embed scripts/done.lua
	doneLua string

	pickScript = redis.NewScript(indexLua + pickLua)
	doneScript = redis.NewScript(doneLua)
)

// atomicLease is how long a Router's share of the shared connection
// counts outlives its last word to Redis (a Pick, a flush of Dones, or a
// full flush, sent every atomicLease/3 while it has calls in progress or
// has picked since the last): when
// a Router crashes, or closes with calls in progress, the next Pick of
// the service after the lease lapsed takes its share back.
const atomicLease = 30 * time.Second

// atomicCloseFlush bounds Close's last flush of Dones.
const atomicCloseFlush = 5 * time.Second

// Balancer kinds as scripts/pick.lua names them.
const (
	kindRR        = "rr"
	kindRandom    = "random"
	kindSWRR      = "swrr"
	kindLeastConn = "lc"
	kindHealth    = "health"
)

// atomicKind maps a built-in Balancer to the script's. P2CEWMA has no
// state to share (its latency averages are each Router's own), so it
// runs as LeastConnections over the shared counts: the load-aware
// balancer the script can run. nil is the default, P2CEWMA.
func atomicKind(b Balancer) (string, bool) {
	switch b.(type) {
	case nil, p2c, leastConn:
		return kindLeastConn, true
	case roundRobin:
		return kindRR, true
	case random:
		return kindRandom, true
	case swrr:
		return kindSWRR, true
	case healthAware:
		return kindHealth, true
	}
	return "", false
}

// atomicState is an Atomic-mode Router's own state.
type atomicState struct {
	id    string            // names this Router's share of the counts
	kinds map[string]string // service → balancer kind (others: lc)

	mu      sync.Mutex
	pending map[string]map[string]int64 // service → instance ID → Dones not yet told to Redis
	open    map[string]map[string]int64 // service → instance ID → calls picked and not yet Done
	full    map[string]bool             // service → the next flush is a full one (a Pick's reply may be lost)
	touched map[string]bool             // services picked since the last tick
	sig     chan struct{}               // capacity 1: "there are Dones"
	tick    chan struct{}               // capacity 1: a tick now (tests)

	pendingN atomic.Int64 // Dones waiting, for the gauge
	lost     atomic.Int64 // Dones given up: Close could not tell Redis, or Redis refused them
	reg      metric.Registration
}

// WithAtomic makes every Pick one Lua script in Redis instead of a local
// decision: round-robin counters, smooth-WRR weights and connection
// counts are shared by every Router of the service, at the cost of one
// round trip per Pick, overriding the default (local decisions from the
// Router's table). See the package doc's # Atomic mode. A Balancer other
// than the six built in, and WithRegistry, are refused by NewRouter.
// Router only.
func WithAtomic() Option {
	return routerOption("WithAtomic", func(c *routerConfig) error {
		c.atomic = true
		return nil
	})
}

// initAtomic checks the balancers of an Atomic-mode Router.
func (r *Router) initAtomic() error {
	if !r.cfg.router.atomic {
		return nil
	}
	if len(r.cfg.router.registries) > 0 {
		// The script reads the instances Redis holds; a Registry's are
		// the Router's alone and could not be balanced in Redis.
		return fmt.Errorf("%w: NewRouter: WithAtomic cannot be used with WithRegistry: Atomic mode balances over the instances registered in Redis", ErrInvalid)
	}
	a := &atomicState{id: rand.Text(), kinds: map[string]string{},
		pending: map[string]map[string]int64{}, open: map[string]map[string]int64{},
		full: map[string]bool{}, touched: map[string]bool{}, sig: make(chan struct{}, 1), tick: make(chan struct{}, 1)}
	for s, b := range r.cfg.router.balancers {
		k, ok := atomicKind(b)
		if !ok {
			return fmt.Errorf("%w: NewRouter: WithAtomic: the Balancer of service %q (%T) is not one of the built-in ones, which alone run in Redis",
				ErrInvalid, s, b)
		}
		a.kinds[s] = k
	}
	r.atomic = a
	return nil
}

// startAtomic starts the flusher and the metrics of an Atomic-mode Router.
func (r *Router) startAtomic(ctx context.Context) {
	a := r.atomic
	if a == nil {
		return
	}
	meter := r.cfg.meter.Meter(instrumentationName)
	pending, _ := meter.Int64ObservableGauge("greyroute.atomic.done.pending",
		metric.WithDescription("Atomic mode: Dones not yet told to Redis."))
	lost, _ := meter.Int64ObservableCounter("greyroute.atomic.done.lost",
		metric.WithDescription("Atomic mode: Dones given up — Close could not tell Redis, or Redis refused them; their counts are taken back when the Router's lease lapses."))
	a.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(pending, a.pendingN.Load())
		ob.ObserveInt64(lost, a.lost.Load())
		return nil
	}, pending, lost)
	r.wg.Add(1)
	go r.flushLoop(ctx)
}

// atomicKeys are the keys scripts/pick.lua takes, in its order; three
// of them (conns, routers, shares) at 9, 10 and 11 are done.lua's.
func atomicKeys(prefix, service string) []string {
	base := prefix + "{" + service + "}:"
	return append(serviceKeys(prefix, service).list(), base+"lb", base+"swrr", base+"conns", base+"routers", base+"shares")
}

// pickAtomic is Pick in Atomic mode: one EVALSHA (EVAL on NOSCRIPT).
func (r *Router) pickAtomic(ctx context.Context, tenant, service string) (Instance, error) {
	var t *svcTable
	if slot := (*r.services.Load())[service]; slot != nil {
		t = slot.t.Load()
	}
	var bad []any
	counted := false
	for {
		res, err := r.runPick(ctx, tenant, service, bad)
		if res.resolved != "" && res.status != "ok" && t != nil && !counted {
			// The resolved version had no available instance: a canary's
			// counts as a failure, once per Pick, as in local mode.
			r.rb.unavailable(t, res.resolved)
			counted = true
		}
		var be badEntry
		if errors.As(err, &be) && len(bad) < maxAcquire {
			bad = append(bad, be.id) // the script took it; Go cannot read it: another
			continue
		}
		if err != nil {
			r.tel.picks[pickError].Add(1)
			return Instance{}, err
		}
		inst := res.inst
		s := r.stateOf(service, inst.ID)
		tk, ok := s.acquire()
		if !ok {
			// The breaker opened (or its probe slots went) since the skip list
			// was made; the shared count has moved, so the pick stands, its
			// result counted against the breaker's state at Done.
			tk = ticket{}
		}
		// Done once (endpoint_once.go), as in local mode: a second Done
		// would also give the shared count in Redis back twice.
		tk.seq, tk.slot = s.done.track()
		inst.picked, inst.tk, inst.router = s, tk, r
		// A call on the rollout target feeds the auto-rollback as in local
		// mode; the target is the one of the Router's table.
		if t != nil && t.canary != nil && inst.Version == t.canary.version {
			inst.win = t.canary
		}
		if res.status == "fallback" {
			r.tel.picks[pickFallback].Add(1)
		} else {
			r.tel.okVia[res.via].Add(1) // greyroute.picks reports ok picks by via
		}
		return inst, nil
	}
}

// pickResult is a pick script's answer.
type pickResult struct {
	inst     Instance
	status   string // "ok", "fallback", "noinstance", ...
	resolved string // the tenant's version, when the script resolved one
	via      int    // how it was resolved (resolve.go's via), for "ok"
}

// badEntry is the error of a pick whose instance entry the script took
// and Go could not decode (invalid UTF-8, say): the Pick tries again
// without it.
type badEntry struct {
	id  string
	err error
}

func (e badEntry) Error() string { return e.err.Error() }
func (e badEntry) Unwrap() error { return e.err }

// runPick runs the script, skipping the instances in bad too, and reads
// its reply; the call the script counted is the Router's from here.
func (r *Router) runPick(ctx context.Context, tenant, service string, bad []any) (pickResult, error) {
	what := fmt.Sprintf("pick service %q for tenant %q", service, tenant)
	if validName("service", service) != nil {
		// No Admin writes such a service (and its keys' hash tag would be wrong).
		return pickResult{}, fmt.Errorf("greyroute: %s: no pin and no stable version: %w", what, ErrUnknownTenant)
	}
	if err := ctx.Err(); err != nil {
		return pickResult{}, err // nothing sent: no call counted
	}
	a := r.atomic
	kind := a.kinds[service]
	if kind == "" {
		kind = kindLeastConn
	}
	now := r.cfg.clock().UnixMilli()
	argv := []any{now, tenant, bucket(tenant, service), r.schemas.Load().m[tenant], kind,
		randUint64() >> 32, r.cfg.router.fallback[service], a.id, now + atomicLease.Milliseconds()}
	argv = append(argv, r.breakerSkips(service)...)
	argv = append(argv, bad...)
	vals, err := pickScript.Run(ctx, r.client, atomicKeys(r.cfg.prefix, service), argv...).Slice()
	if err != nil {
		// The script may have run and counted a call this Router never
		// learns of (a lost reply): the next flush sets its shares anew.
		a.mu.Lock()
		a.full[service] = true
		a.mu.Unlock()
		a.signal()
		return pickResult{}, wrapAtomic(ctx, what, err)
	}
	var status string
	if len(vals) > 0 {
		status, _ = vals[0].(string)
	}
	str := func(i int) string {
		if i < len(vals) {
			s, _ := vals[i].(string)
			return s
		}
		return ""
	}
	num := func(i int) int64 {
		if i < len(vals) {
			n, _ := vals[i].(int64)
			return n
		}
		return 0
	}
	res := pickResult{status: status}
	switch status {
	case "unknown":
		return res, fmt.Errorf("greyroute: %s: no pin and no stable version: %w", what, ErrUnknownTenant)
	case "schema":
		return res, fmt.Errorf("greyroute: %s: stable version %q needs schema %d, tenant has %d: %w",
			what, str(1), num(2), r.schemas.Load().m[tenant], ErrSchema)
	case "noinstance":
		res.resolved = str(1)
		msg := fmt.Sprintf("no available instance of version %q", str(1))
		if fb := str(2); fb != "" {
			msg += fmt.Sprintf(" nor of fallback %q", fb)
		}
		if n := num(3); n > 0 {
			msg += fmt.Sprintf(" (%d undecodable instance entries skipped)", n)
		}
		if len(bad) > 0 {
			msg += fmt.Sprintf(" (%d instance entries Go could not decode skipped)", len(bad))
		}
		return res, fmt.Errorf("greyroute: %s: %s: %w", what, msg, ErrNoInstance)
	case "ok", "fallback":
		res.resolved = str(5)
		switch str(6) {
		case "pin":
			res.via = viaPin
		case "rollout":
			res.via = viaRollout
		default:
			res.via = viaStable
		}
	default:
		return pickResult{}, fmt.Errorf("greyroute: %s: unexpected script reply %q", what, vals)
	}
	id := str(2)
	a.mu.Lock()
	a.opened(service, id)
	a.mu.Unlock()
	var e instanceEntry
	if err := json.Unmarshal([]byte(str(3)), &e); err != nil || validName("version", e.Version) != nil || e.Version != str(1) {
		// The script decoded it; Go did not agree (invalid UTF-8, say).
		// The connection it counted is given back.
		a.done(r, service, id)
		return res, badEntry{id, fmt.Errorf("greyroute: %s: instance %q: undecodable entry %q", what, id, str(3))}
	}
	res.inst = Instance{ID: id, Service: service, Version: e.Version, Addr: e.Addr, Weight: e.Weight, Meta: e.Meta}
	return res, nil
}

// opened counts a call picked on service's instance id. Called with a.mu held.
func (a *atomicState) opened(service, id string) {
	m := a.open[service]
	if m == nil {
		m = map[string]int64{}
		a.open[service] = m
	}
	m[id]++
	a.touched[service] = true
}

// signal wakes the flusher.
func (a *atomicState) signal() {
	select {
	case a.sig <- struct{}{}:
	default:
	}
}

// wrapAtomic wraps a Pick's Redis error: a context error as it is, any
// other with ErrUnavailable — the shared table cannot answer, whether
// the network failed or the data in Redis is unusable (a key of the wrong
// type); the message says which.
func wrapAtomic(ctx context.Context, what string, err error) error {
	w := wrapRedis(ctx, what, err)
	if errors.Is(w, ErrUnavailable) || errors.Is(w, context.Canceled) || errors.Is(w, context.DeadlineExceeded) {
		return w
	}
	return fmt.Errorf("greyroute: %s: %w: %w", what, ErrUnavailable, err)
}

// stateOf returns the live state (breaker, EWMA) of service's instance
// id, making it when the Router's table does not list the instance yet; a
// reload keeps it, as it keeps any by ID. Its breaker reports its
// transitions (router_report.go), as buildTable's do.
func (r *Router) stateOf(service, id string) *endpointState {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.states[service]
	if m == nil {
		m = map[string]*endpointState{}
		r.states[service] = m
	}
	s := m[id]
	if s == nil {
		var err error
		if s, err = newEndpointState(service+"/"+id, r.breakerPolicy(service, id)); err != nil {
			// The policy was validated by WithBreaker: unreachable. A
			// zero-policy state keeps Done working.
			s, _ = newEndpointState(service+"/"+id, resilience.BreakerPolicy{})
		}
		m[id] = s
	}
	return s
}

// breakerSkips lists service's instances whose local breaker keeps them
// from a pick: open, or half-open with every probe slot taken. Health is
// not judged here: the script reads it from Redis, where it is freshest.
func (r *Router) breakerSkips(service string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []any
	for id, s := range r.states[service] {
		if s.breakerBlocks() {
			out = append(out, id)
		}
	}
	return out
}

// breakerBlocks is available without the health check: an open breaker
// whose open period has passed is moved to half-open here.
func (s *endpointState) breakerBlocks() bool {
	switch resilience.BreakerState(s.brState.Load()) {
	case resilience.StateClosed:
		return false
	case resilience.StateHalfOpen:
		return !s.probeFree()
	}
	if monoNanos() < s.openUntil.Load() {
		return true
	}
	s.br.State()
	return resilience.BreakerState(s.brState.Load()) != resilience.StateHalfOpen || !s.probeFree()
}
