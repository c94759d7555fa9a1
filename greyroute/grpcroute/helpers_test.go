package grpcroute_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/grpcroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// patience bounds every wait for an event; the tests never sleep.
const patience = 20 * time.Second

const service = "billing"

// backend is a real grpc-go server on loopback standing for one instance:
// the standard Health service, behind an interceptor that names the
// instance and version in the response header and, for a call carrying
// metadata "x-block", holds it until the client gives up; one carrying
// "x-fail" fails with Internal.
type backend struct {
	id, version, addr string
	srv               *grpc.Server
	arrived           chan struct{} // a blocking call reached the server
	conns             *connWatch
}

func startBackend(t *testing.T, id, version string) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{id: id, version: version, addr: lis.Addr().String(), arrived: make(chan struct{}, 16), conns: newConnWatch()}
	b.srv = grpc.NewServer(grpc.StatsHandler(b.conns), grpc.UnaryInterceptor(b.intercept))
	healthpb.RegisterHealthServer(b.srv, health.NewServer())
	go func() { _ = b.srv.Serve(lis) }()
	t.Cleanup(b.srv.Stop)
	return b
}

func (b *backend) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-instance", b.id, "x-version", b.version))
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("x-fail")) > 0 {
		return nil, status.Error(codes.Internal, "asked to fail")
	}
	if len(md.Get("x-block")) > 0 {
		b.arrived <- struct{}{}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return h(ctx, req)
}

// connWatch counts a server's open client connections, as its stats
// handler sees them begin and end, and lets a test wait for a count.
type connWatch struct {
	mu   sync.Mutex
	open int
	ch   chan struct{} // closed and replaced on every change
}

func newConnWatch() *connWatch { return &connWatch{ch: make(chan struct{})} }

func (w *connWatch) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (w *connWatch) HandleRPC(context.Context, stats.RPCStats)                         {}
func (w *connWatch) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (w *connWatch) HandleConn(_ context.Context, s stats.ConnStats) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch s.(type) {
	case *stats.ConnBegin:
		w.open++
	case *stats.ConnEnd:
		w.open--
	default:
		return
	}
	close(w.ch)
	w.ch = make(chan struct{})
}

// await waits until the server has n open connections.
func (w *connWatch) await(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(patience)
	for {
		w.mu.Lock()
		open, ch := w.open, w.ch
		w.mu.Unlock()
		if open == n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d open connections (have %d)", n, open)
		}
	}
}

// breakers records the instances' breaker transitions.
type breakers struct {
	mu     sync.Mutex
	events []string // "billing/a1 open"
	ch     chan string
}

func (b *breakers) policy(failures uint32, open time.Duration) resilience.BreakerPolicy {
	return resilience.BreakerPolicy{ConsecutiveFailures: failures, OpenTimeout: open,
		OnStateChange: func(name string, _, to resilience.BreakerState) {
			ev := name + " " + to.String()
			b.mu.Lock()
			b.events = append(b.events, ev)
			b.mu.Unlock()
			select {
			case b.ch <- ev:
			default:
			}
		}}
}

func (b *breakers) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.events...)
}

// env is one test's world: a real redis-server, an Admin writing the
// table, backends per version, a Router and a gRPC client through it.
type env struct {
	t        *testing.T
	rdb      redis.UniversalClient
	admin    *greyroute.Admin
	router   *greyroute.Router
	conn     *grpc.ClientConn
	client   healthpb.HealthClient
	backends map[string]*backend
	breakers *breakers
}

// newEnv starts the backends (id → version), registers them, makes v1
// stable, lets prepare write more of the table, and then builds the
// Router (round robin, breakers opening after failures consecutive
// failures) and the client.
func newEnv(t *testing.T, failures uint32, instances [][2]string, prepare func(ctx context.Context, a *greyroute.Admin)) *env {
	t.Helper()
	return newEnvOpen(t, failures, time.Hour, instances, prepare)
}

// newEnvOpen is newEnv with breakers that stay open for open.
func newEnvOpen(t *testing.T, failures uint32, open time.Duration, instances [][2]string, prepare func(ctx context.Context, a *greyroute.Admin)) *env {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after every other cleanup
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	e := &env{t: t, backends: map[string]*backend{}, breakers: &breakers{ch: make(chan string, 64)}}
	e.rdb = redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { e.rdb.Close() })
	var err error
	if e.admin, err = greyroute.NewAdmin(e.rdb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.admin.Close() })
	for _, iv := range instances {
		e.start(iv[0], iv[1])
	}
	must(t, e.admin.SetStable(ctx, service, "v1"))
	if prepare != nil {
		prepare(ctx, e.admin)
	}
	e.router, err = greyroute.NewRouter(e.rdb, greyroute.WithBalancer(service, greyroute.RoundRobin()),
		greyroute.WithBreaker(e.breakers.policy(failures, open)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.router.Close() })
	e.conn, err = grpcroute.NewClient(e.router, service, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.conn.Close() })
	e.client = healthpb.NewHealthClient(e.conn)
	return e
}

// start starts and registers a backend.
func (e *env) start(id, version string) *backend {
	b := startBackend(e.t, id, version)
	e.backends[id] = b
	must(e.t, e.admin.Register(context.Background(), greyroute.Instance{ID: id, Service: service, Version: version, Addr: b.addr}, time.Hour))
	return b
}

// call makes one Check for tenant (through WithTenant; "" for none) and
// returns the instance that answered.
func (e *env) call(ctx context.Context, tenant string, opts ...grpc.CallOption) (string, error) {
	if tenant != "" {
		ctx = greyroute.WithTenant(ctx, tenant)
	}
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	var hdr metadata.MD
	_, err := e.client.Check(ctx, &healthpb.HealthCheckRequest{}, append(opts, grpc.Header(&hdr))...)
	if v := hdr.Get("x-instance"); len(v) > 0 {
		return v[0], err
	}
	return "", err
}

// mustLand makes n wait-for-ready calls for tenant and returns how many
// each instance answered; every call must succeed.
func (e *env) mustLand(tenant string, n int) map[string]int {
	e.t.Helper()
	got := map[string]int{}
	for range n {
		id, err := e.call(context.Background(), tenant, grpc.WaitForReady(true))
		if err != nil {
			e.t.Fatalf("call for tenant %q: %v", tenant, err)
		}
		got[id]++
	}
	return got
}

// warm makes calls for tenant until each of ids has answered one: their
// connections are then ready, and round robin alternates strictly.
func (e *env) warm(tenant string, ids ...string) {
	e.t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(patience)
	for len(seen) < len(ids) {
		if time.Now().After(deadline) {
			e.t.Fatalf("tenant %q reached only %v of %v", tenant, seen, ids)
		}
		id, err := e.call(context.Background(), tenant, grpc.WaitForReady(true))
		if err != nil {
			e.t.Fatalf("call for tenant %q: %v", tenant, err)
		}
		if !slices.Contains(ids, id) {
			e.t.Fatalf("tenant %q reached %q, want one of %v", tenant, id, ids)
		}
		seen[id] = true
	}
}

// until waits, one table installed by the Router at a time, for cond.
func (e *env) until(desc string, cond func() bool) {
	e.t.Helper()
	changed, stop := e.router.Watch(service)
	defer stop()
	deadline := time.After(patience)
	for !cond() {
		select {
		case <-changed:
		case <-deadline:
			e.t.Fatalf("timed out waiting for %s", desc)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantStatus checks err's code and that its message has every part.
func wantStatus(t *testing.T, err error, code codes.Code, parts ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}
