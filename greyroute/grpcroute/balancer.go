package grpcroute

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/resolver"

	"github.com/groundwork-go/groundwork/greyroute"
)

// builder builds the policy registered as BalancerName.
type builder struct{}

// Name implements balancer.Builder.
func (builder) Name() string { return BalancerName }

// Build implements balancer.Builder.
func (builder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	return &routeBalancer{cc: cc, service: opts.Target.Endpoint(), conns: map[string]*conn{}}
}

// conn is the connection to one instance, by instance ID.
type conn struct {
	sc    balancer.SubConn
	addr  string
	state connectivity.State
	err   error // the last connection error, in TransientFailure
}

// repickDelay is how long after a pick that found no instance the
// balancer hands grpc-go a fresh picker. A wait-for-ready RPC waits for a
// new picker; breakers half-open with time, not with any event grpc-go
// sees, so without this it would wait for its deadline.
const repickDelay = time.Second

// routeBalancer keeps one SubConn per live instance of the service (every
// version: any tenant may be sent to any of them) and publishes a picker
// that asks the Router. grpc-go calls UpdateClientConnState, ResolverError,
// Close and the SubConns' state listeners from one goroutine; the repick
// timer runs on its own, hence the mutex.
type routeBalancer struct {
	cc      balancer.ClientConn
	service string

	mu       sync.Mutex
	router   *greyroute.Router
	conns    map[string]*conn // instance ID → its connection
	resolved error            // why there is no Router to ask (a resolver error), or nil
	timer    *time.Timer      // pending repick, or nil
	tel      *telemetry       // the resolver's pick counters (nil: none)
	closed   bool
}

// UpdateClientConnState implements balancer.Balancer: it creates a
// SubConn for each new instance (or one whose address changed) and shuts
// down those of instances gone from the table.
func (b *routeBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	r, _ := s.ResolverState.Attributes.Value(routerKey{}).(*greyroute.Router)
	tel, _ := s.ResolverState.Attributes.Value(telemetryKey{}).(*telemetry)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tel = tel
	if r == nil {
		b.resolved = fmt.Errorf("grpcroute: service %q: the %s policy needs the grpcroute resolver (dial grpcroute.Target with grpcroute.DialOptions)", b.service, BalancerName)
		b.publishLocked()
		return balancer.ErrBadResolverState
	}
	b.router, b.resolved = r, nil
	seen := make(map[string]bool, len(s.ResolverState.Endpoints))
	for _, ep := range s.ResolverState.Endpoints {
		id, _ := ep.Attributes.Value(instanceIDKey{}).(string)
		if id == "" || len(ep.Addresses) == 0 {
			continue
		}
		addr := ep.Addresses[0].Addr
		seen[id] = true
		if c := b.conns[id]; c != nil {
			if c.addr == addr {
				continue
			}
			c.sc.Shutdown() // re-registered elsewhere: a new connection
			delete(b.conns, id)
		}
		b.newConnLocked(id, addr)
	}
	for id, c := range b.conns {
		if !seen[id] {
			c.sc.Shutdown()
			delete(b.conns, id)
		}
	}
	b.publishLocked()
	return nil
}

// newConnLocked creates and connects the SubConn of instance id.
func (b *routeBalancer) newConnLocked(id, addr string) {
	c := &conn{addr: addr, state: connectivity.Idle}
	var sc balancer.SubConn
	//lint:ignore SA1019 NewSubConn is the API; its deprecation note only announces one address per SubConn, which is what this passes.
	sc, err := b.cc.NewSubConn([]resolver.Address{{Addr: addr}}, balancer.NewSubConnOptions{
		StateListener: func(st balancer.SubConnState) { b.subConnState(id, c, st) },
	})
	if err != nil {
		return // the ClientConn is closing
	}
	c.sc = sc
	b.conns[id] = c
	sc.Connect()
}

// subConnState records a SubConn's new state, reconnects an idle one (any
// tenant may need any instance) and publishes a new picker.
func (b *routeBalancer) subConnState(id string, c *conn, st balancer.SubConnState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conns[id] != c { // shut down meanwhile, or replaced
		return
	}
	c.state, c.err = st.ConnectivityState, st.ConnectionError
	if c.state == connectivity.Idle {
		c.sc.Connect()
	}
	b.publishLocked()
}

// publishLocked hands grpc-go a picker over the current connections and
// the aggregate state: Ready if any connection is, else Connecting while
// one tries, else TransientFailure.
func (b *routeBalancer) publishLocked() {
	if b.closed {
		return
	}
	p := &picker{router: b.router, service: b.service, resolved: b.resolved, conns: make(map[string]conn, len(b.conns)), repick: b.repick, tel: b.tel}
	state := connectivity.TransientFailure
	for id, c := range b.conns {
		p.conns[id] = *c
		switch {
		case c.state == connectivity.Ready:
			state = connectivity.Ready
		case state != connectivity.Ready && (c.state == connectivity.Connecting || c.state == connectivity.Idle):
			state = connectivity.Connecting
		}
	}
	b.cc.UpdateState(balancer.State{ConnectivityState: state, Picker: p})
}

// repick schedules a fresh picker after repickDelay, once: see
// repickDelay. It is called from Pick.
func (b *routeBalancer) repick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.timer != nil {
		return
	}
	b.timer = time.AfterFunc(repickDelay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.timer = nil
		b.publishLocked()
	})
}

// ResolverError implements balancer.Balancer. The grpcroute resolver
// reports none; another resolver's error is kept for the picker to fail
// RPCs with when there is no Router to ask.
func (b *routeBalancer) ResolverError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.router == nil {
		b.resolved = fmt.Errorf("grpcroute: service %q: resolver: %w", b.service, err)
		b.publishLocked()
	}
}

// UpdateSubConnState implements balancer.Balancer; the SubConns report
// through their StateListener instead.
func (*routeBalancer) UpdateSubConnState(balancer.SubConn, balancer.SubConnState) {}

// ExitIdle implements balancer.Balancer: every SubConn is already
// connected or reconnecting.
func (*routeBalancer) ExitIdle() {}

// Close implements balancer.Balancer: it shuts every SubConn down and
// stops a pending repick.
func (b *routeBalancer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	for id, c := range b.conns {
		c.sc.Shutdown()
		delete(b.conns, id)
	}
}

// errNoTenant is the picker's answer to an RPC whose context names no
// tenant.
var errNoTenant = errors.New("no tenant")
