package grpcroute

import (
	"fmt"
	"slices"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"

	"github.com/groundwork-go/groundwork/greyroute"
)

// Keys of the attributes the resolver sets and the balancer reads: the
// Router on the resolver state, the instance ID on each endpoint.
type (
	routerKey     struct{}
	telemetryKey  struct{}
	instanceIDKey struct{}
)

// resolverBuilder builds the resolver of one ClientConn's target; it is
// given to that ClientConn alone (grpc.WithResolvers).
type resolverBuilder struct {
	router *greyroute.Router
	opts   options
	err    error // a bad Option, told at Build
	tel    *telemetry
}

// Scheme implements resolver.Builder.
func (*resolverBuilder) Scheme() string { return Scheme }

// Build implements resolver.Builder: it reports the service's instances
// at once and then after every table the Router installs.
func (b *resolverBuilder) Build(t resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	if b.router == nil {
		return nil, fmt.Errorf("%w: grpcroute: resolve %q: DialOptions was given a nil Router", greyroute.ErrInvalid, t.URL.String())
	}
	if b.err != nil {
		return nil, b.err
	}
	service := t.Endpoint()
	if err := checkService(service); err != nil {
		return nil, fmt.Errorf("grpcroute: resolve %q: %w", t.URL.String(), err)
	}
	changed, stop := b.router.Watch(service) // before the first read: no change falls between
	r := &watchResolver{router: b.router, service: service, cc: cc, stopWatch: stop, done: make(chan struct{}),
		tel: b.tel, reg: b.tel.register(b.opts.meter, service)}
	r.update()
	r.wg.Add(1)
	go r.run(changed)
	return r, nil
}

// watchResolver mirrors one service's instances from a Router into a
// ClientConn.
type watchResolver struct {
	router    *greyroute.Router
	service   string
	cc        resolver.ClientConn
	stopWatch func()
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	last      []resolver.Endpoint // what was last reported; only run (and Build, before it) touch it
	tel       *telemetry
	reg       metric.Registration
}

func (r *watchResolver) run(changed <-chan struct{}) {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			return
		case <-changed:
			r.update()
		}
	}
}

// update reports the service's instances, unless they are what was last
// reported: the balancer then keeps its state. Each instance is one
// endpoint, with its ID as an attribute so that the balancer maps a
// Router's pick to its connection; the Router rides on the state's
// attributes for the balancer to call.
func (r *watchResolver) update() {
	insts := r.router.Instances(r.service)
	eps := make([]resolver.Endpoint, 0, len(insts))
	for _, in := range insts {
		eps = append(eps, resolver.Endpoint{
			Addresses:  []resolver.Address{{Addr: in.Addr}},
			Attributes: attributes.New(instanceIDKey{}, in.ID),
		})
	}
	if r.last != nil && slices.EqualFunc(eps, r.last, sameEndpoint) {
		return
	}
	r.last = eps
	// The error asks for a re-resolution with backoff; a watch-based
	// resolver hears of every change anyway, so it is ignored (as grpc-go
	// allows for such resolvers).
	_ = r.cc.UpdateState(resolver.State{Endpoints: eps, Attributes: attributes.New(routerKey{}, r.router).WithValue(telemetryKey{}, r.tel)})
}

func sameEndpoint(a, b resolver.Endpoint) bool {
	return a.Addresses[0].Addr == b.Addresses[0].Addr && a.Attributes.Equal(b.Attributes)
}

// ResolveNow implements resolver.Resolver: nothing to do, the Router's
// table is pushed.
func (*watchResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close implements resolver.Resolver: it stops the watch and waits for
// the goroutine that follows it.
func (r *watchResolver) Close() {
	r.closeOnce.Do(func() {
		close(r.done)
		r.wg.Wait()
		r.stopWatch()
		if r.reg != nil {
			_ = r.reg.Unregister()
		}
	})
}
