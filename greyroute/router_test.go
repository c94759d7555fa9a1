package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// loads records what a Router installed (via its load hook) so a test
// waits for a rev instead of sleeping.
type loads struct {
	mu    sync.Mutex
	revs  map[string]int64
	count map[string]int
	ch    chan struct{}
}

func newLoads() *loads {
	return &loads{revs: map[string]int64{}, count: map[string]int{}, ch: make(chan struct{})}
}

func (l *loads) hook(what string, rev int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revs[what] = rev
	l.count[what]++
	close(l.ch)
	l.ch = make(chan struct{})
}

// until waits for cond, checked under the lock after every load.
func (l *loads) until(t *testing.T, desc string, cond func(revs map[string]int64, count map[string]int) bool) {
	t.Helper()
	deadline := time.After(patience)
	for {
		l.mu.Lock()
		ok, ch := cond(l.revs, l.count), l.ch
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", desc)
		}
	}
}

// rev waits until the Router holds what at rev or later.
func (l *loads) rev(t *testing.T, what string, rev int64) {
	t.Helper()
	l.until(t, fmt.Sprintf("%s at rev %d", what, rev), func(r map[string]int64, _ map[string]int) bool { return r[what] >= rev })
}

func newRouter(t *testing.T, c redis.UniversalClient, opts ...greyroute.Option) (*greyroute.Router, *loads) {
	t.Helper()
	l := newLoads()
	r, err := greyroute.NewRouter(c, append(opts, greyroute.WithLoadHook(l.hook))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, l
}

// revOf is the service's current rev in Redis.
func revOf(t *testing.T, a *greyroute.Admin, service string) int64 {
	t.Helper()
	tb, err := a.Snapshot(context.Background(), service)
	must(t, err)
	return tb.Rev
}

func tenantsRev(t *testing.T, c redis.UniversalClient) int64 {
	t.Helper()
	n, err := c.HGet(context.Background(), "greyroute:{tenants}:meta", "rev").Int64()
	must(t, err)
	return n
}

func register(t *testing.T, a *greyroute.Admin, service, version string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		must(t, a.Register(context.Background(), greyroute.Instance{ID: id, Service: service, Version: version, Addr: id + ":80"}, time.Hour))
	}
}

func pickVersion(t *testing.T, r *greyroute.Router, tenant, service string) string {
	t.Helper()
	inst, err := r.Pick(context.Background(), tenant, service)
	if err != nil {
		t.Fatalf("pick %s/%s: %v", tenant, service, err)
	}
	r.Done(inst, nil, time.Millisecond)
	return inst.Version
}

// TestRouterPropagationAndStickyRollout: three Routers on their own
// clients see every Admin write, and agree on who is in a rollout as it
// rises and falls; a tenant inside a smaller rollout stays in a bigger one.
func TestRouterPropagationAndStickyRollout(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	var rs []*greyroute.Router
	var ls []*loads
	for range 3 {
		r, l := newRouter(t, standalone(t, srv.Addr, nil))
		rs, ls = append(rs, r), append(ls, l)
	}
	register(t, a, "billing", "v1", "a1", "a2")
	register(t, a, "billing", "v2", "b1")
	must(t, a.SetStable(ctx, "billing", "v1"))
	tenants := make([]string, 400)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%d", i)
	}
	onV2 := func(pct float64) map[string]bool {
		t.Helper()
		must(t, a.SetRollout(ctx, "billing", greyroute.Rollout{To: "v2", Percent: pct}))
		rev := revOf(t, a, "billing")
		got := map[string]bool{}
		for i, r := range rs {
			ls[i].rev(t, "billing", rev)
			for _, tn := range tenants {
				v := pickVersion(t, r, tn, "billing")
				if i == 0 && v == "v2" {
					got[tn] = true
				} else if i > 0 && (v == "v2") != got[tn] {
					t.Fatalf("router %d puts %s on %s, router 0 does not agree", i, tn, v)
				}
			}
		}
		if n := len(got); float64(n) < 4*pct-40 || float64(n) > 4*pct+40 {
			t.Errorf("rollout %v%%: %d of 400 tenants on v2", pct, n)
		}
		return got
	}
	at20 := onV2(20)
	at50 := onV2(50)
	for tn := range at20 {
		if !at50[tn] {
			t.Errorf("%s left v2 when the rollout rose 20%% → 50%%", tn)
		}
	}
	at10 := onV2(10)
	for tn := range at10 {
		if !at20[tn] {
			t.Errorf("%s joined v2 when the rollout fell to 10%%", tn)
		}
	}
}

// TestRouterPinsSchemaFallback: pins win; a rollout to a version whose
// schema requirement the tenant does not meet leaves it on stable until
// its schema is recorded; no instance of the version means the fallback's
// or ErrNoInstance, never another version.
func TestRouterPinsSchemaFallback(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	r, l := newRouter(t, standalone(t, srv.Addr, nil))

	if _, err := r.Pick(ctx, "t1", "nosuch"); !errors.Is(err, greyroute.ErrUnknownTenant) {
		t.Fatalf("unknown service: %v, want ErrUnknownTenant", err)
	}
	register(t, a, "s", "v1", "a1")
	register(t, a, "s", "v2", "b1")
	register(t, a, "s", "v3", "c1")
	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, a.Pin(ctx, "pinned", "s", "v2"))
	must(t, a.RequireSchema(ctx, "s", "v3", 2))
	must(t, a.SetRollout(ctx, "s", greyroute.Rollout{To: "v3", Percent: 100}))
	must(t, a.SetSchema(ctx, "ready", 2))
	l.rev(t, "s", revOf(t, a, "s"))
	l.rev(t, "{tenants}", tenantsRev(t, c))
	for tn, want := range map[string]string{"pinned": "v2", "ready": "v3", "old": "v1"} {
		if v := pickVersion(t, r, tn, "s"); v != want {
			t.Errorf("%s: picked %s, want %s", tn, v, want)
		}
	}
	must(t, a.SetSchema(ctx, "old", 2))
	l.rev(t, "{tenants}", tenantsRev(t, c))
	if v := pickVersion(t, r, "old", "s"); v != "v3" {
		t.Errorf("old after its schema rose: picked %s, want v3", v)
	}

	// v2's only instance goes: the pinned tenant gets ErrNoInstance, not v1.
	must(t, a.Deregister(ctx, "s", "b1"))
	l.rev(t, "s", revOf(t, a, "s"))
	if inst, err := r.Pick(ctx, "pinned", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("pinned to an empty version: %+v, %v; want ErrNoInstance", inst, err)
	}
	// The table's fallback serves it.
	must(t, a.SetFallback(ctx, "s", "v1"))
	l.rev(t, "s", revOf(t, a, "s"))
	if v := pickVersion(t, r, "pinned", "s"); v != "v1" {
		t.Errorf("with fallback v1: picked %s", v)
	}
	// WithFallbackVersion overrides the table's; the fallback is gated by
	// schema like any version: v3 needs schema 2, which "pinned" lacks.
	must(t, a.SetSchema(ctx, "pinready", 2))
	must(t, a.Pin(ctx, "pinready", "s", "v2"))
	r2, l2 := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithFallbackVersion("s", "v3"))
	l2.rev(t, "s", revOf(t, a, "s"))
	l2.rev(t, "{tenants}", tenantsRev(t, c))
	if v := pickVersion(t, r2, "pinready", "s"); v != "v3" {
		t.Errorf("WithFallbackVersion v3: picked %s", v)
	}
	if inst, err := r2.Pick(ctx, "pinned", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Errorf("fallback v3 needs schema 2, pinned has 0: %+v, %v; want ErrNoInstance", inst, err)
	}
	must(t, a.Deregister(ctx, "s", "c1"))
	l2.rev(t, "s", revOf(t, a, "s"))
	if _, err := r2.Pick(ctx, "pinready", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("fallback empty too: %v, want ErrNoInstance", err)
	}
}

// TestRouterDone: Done credits the picked endpoint's breaker, whose state
// survives a reload; Done of a zero or another Router's Instance does
// nothing; expired instances leave at the next load by the Router's clock.
func TestRouterDone(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	pol := greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
	r, l := newRouter(t, standalone(t, srv.Addr, nil), pol, greyroute.WithClock(clk.Now))
	other, lo := newRouter(t, standalone(t, srv.Addr, nil), pol)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	l.rev(t, "s", revOf(t, a, "s"))
	lo.rev(t, "s", revOf(t, a, "s"))

	boom := errors.New("boom")
	inst, err := other.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(inst, boom, time.Millisecond)                        // another Router's: ignored
	r.Done(greyroute.Instance{}, boom, time.Millisecond)        // zero: ignored
	r.Done(greyroute.Instance{ID: "a1", Service: "s"}, boom, 0) // hand-made: ignored
	other.Done(inst, nil, time.Millisecond)
	mine, err := r.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(mine, context.Canceled, 0) // the client gave up: not a failure
	mine, err = r.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(mine, boom, time.Millisecond) // opens a1's breaker
	// A reload keeps the breaker open.
	register(t, a, "s", "v1", "a2")
	must(t, a.Deregister(ctx, "s", "a2"))
	l.rev(t, "s", revOf(t, a, "s"))
	if _, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("a1's breaker open: %v, want ErrNoInstance", err)
	}
	if _, err := other.Pick(ctx, "t", "s"); err != nil {
		t.Fatalf("the other Router's a1 is fine: %v", err)
	}

	// Expiry: a3 registered for a minute; two minutes on, a reload drops it.
	must(t, a.Register(ctx, greyroute.Instance{ID: "a3", Service: "s", Version: "v1", Addr: "a3:80"}, time.Minute))
	l.rev(t, "s", revOf(t, a, "s"))
	if v := pickVersion(t, r, "t", "s"); v != "v1" {
		t.Fatalf("a3: %s", v)
	}
	clk.Advance(2 * time.Minute)
	must(t, a.Pin(ctx, "x", "s", "v1")) // any write: the Router reloads
	l.rev(t, "s", revOf(t, a, "s"))
	if inst, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("a3 expired, a1 open: %+v, %v; want ErrNoInstance", inst, err)
	}
}

// TestRouterRedisDown: with Redis killed the Router serves its last table
// and says so (metric, one log line); a write made after Redis restarts
// but before the Router resubscribed (its event lost) arrives by the
// resync that follows the resubscription.
func TestRouterRedisDown(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true, FsyncAlways: true})
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	var logs logBuf
	gate := make(chan struct{})
	var once sync.Once
	r, l := newRouter(t, standalone(t, srv.Addr, &redis.Options{MaxRetries: -1}),
		greyroute.WithMeterProvider(mp), greyroute.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		greyroute.WithReconnectHook(func() { once.Do(func() { <-gate }) }))
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the Router's Close, should the test fail early
	register(t, a, "s", "v1", "a1")
	register(t, a, "s", "v2", "b1")
	must(t, a.SetStable(ctx, "s", "v1"))
	l.rev(t, "s", revOf(t, a, "s"))
	stale := func() int64 {
		return otelcheck.Totals(t, reader, func(p otelcheck.Point) string { return p.Metric })["greyroute.table.stale"]
	}
	if s := stale(); s != 0 {
		t.Fatalf("stale = %d before the outage", s)
	}

	srv.Kill()
	l.until(t, "the outage", func(_ map[string]int64, n map[string]int) bool { return n["stale"] == 1 })
	if v := pickVersion(t, r, "t", "s"); v != "v1" {
		t.Fatalf("during the outage: %s", v)
	}
	if s := stale(); s != 1 {
		t.Fatalf("stale = %d during the outage", s)
	}
	srv.Restart(t)
	must(t, a.SetStable(ctx, "s", "v2")) // the Router is not subscribed: the event is lost
	l.mu.Lock()
	resyncs := l.count["resync"]
	l.mu.Unlock()
	release()
	l.until(t, "the resync", func(_ map[string]int64, n map[string]int) bool { return n["resync"] > resyncs })
	if v := pickVersion(t, r, "t", "s"); v != "v2" {
		t.Fatalf("after the resync: %s, want v2", v)
	}
	if s := stale(); s != 0 {
		t.Fatalf("stale = %d after the resync", s)
	}
	picks := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric != "greyroute.picks" {
			return ""
		}
		return p.Attr("outcome")
	})
	if picks["ok"] != 2 || picks["error"] != 0 {
		t.Errorf("greyroute.picks = %v, want ok 2, error 0", picks)
	}
	if n := logs.count("cannot read the routing table"); n != 1 {
		t.Errorf("%d outage log lines, want 1:\n%s", n, logs.String())
	}
}

// TestRouterOptions: bad options are refused with ErrInvalid, Router
// options by NewAdmin too.
func TestRouterOptions(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	if _, err := greyroute.NewRouter(nil); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("nil client: %v", err)
	}
	for name, o := range map[string]greyroute.Option{
		"nil":           nil,
		"resync 0":      greyroute.WithResync(0),
		"balancer name": greyroute.WithBalancer("", greyroute.RoundRobin()),
		"nil balancer":  greyroute.WithBalancer("s", nil),
		"fallback name": greyroute.WithFallbackVersion("s", "{v}"),
		"breaker":       greyroute.WithBreaker(resilience.BreakerPolicy{FailureRatio: 2}),
		"logger":        greyroute.WithLogger(nil),
		"meter":         greyroute.WithMeterProvider(nil),
		"prefix":        greyroute.WithPrefix("a{b"),
		"clock":         greyroute.WithClock(nil),
	} {
		if r, err := greyroute.NewRouter(c, o); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
			if r != nil {
				r.Close()
			}
		}
	}
	if _, err := greyroute.NewAdmin(c, greyroute.WithResync(time.Second)); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("NewAdmin with a Router option: %v, want ErrInvalid", err)
	}
	r, _ := newRouter(t, c)
	must(t, r.Close())
	must(t, r.Close())
	if _, err := r.Pick(context.Background(), "t", "s"); !errors.Is(err, greyroute.ErrClosed) {
		t.Errorf("Pick after Close: %v", err)
	}
}

// TestRouterPickAllocs: a successful Pick and its Done allocate nothing.
func TestRouterPickAllocs(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	register(t, a, "s", "v1", "a1", "a2", "a3")
	must(t, a.SetStable(ctx, "s", "v1"))
	l.rev(t, "s", revOf(t, a, "s"))
	if n := testing.AllocsPerRun(1000, func() {
		inst, err := r.Pick(ctx, "tenant", "s")
		if err != nil {
			t.Fatal(err)
		}
		r.Done(inst, nil, time.Millisecond)
	}); n != 0 {
		t.Errorf("Pick+Done: %v allocs, want 0", n)
	}
}

// BenchmarkRouterPick is the public Pick on a loaded Router: 1,000 pins,
// a 25% rollout, 200 instances of each version, each balancer.
func BenchmarkRouterPick(b *testing.B) {
	ctx := context.Background()
	srv := testserver.StartRedis(b, nil)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	a, err := greyroute.NewAdmin(c)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		for _, v := range []string{"v1", "v2"} {
			id := fmt.Sprintf("%s-%d", v, i)
			if err := a.Register(ctx, greyroute.Instance{ID: id, Service: "s", Version: v, Addr: id + ":80", Weight: 1 + i%10}, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 1000 {
		if err := a.Pin(ctx, fmt.Sprintf("pinned-%d", i), "s", "v2"); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.SetStable(ctx, "s", "v1"); err != nil {
		b.Fatal(err)
	}
	if err := a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 25}); err != nil {
		b.Fatal(err)
	}
	tenants := make([]string, 1024)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%d", i)
		if i%8 == 0 {
			tenants[i] = fmt.Sprintf("pinned-%d", i)
		}
	}
	for name, bal := range map[string]greyroute.Balancer{"rr": greyroute.RoundRobin(), "random": greyroute.Random(),
		"swrr": greyroute.SmoothWeightedRoundRobin(), "leastconn": greyroute.LeastConnections(),
		"p2c": greyroute.P2CEWMA(), "health": greyroute.HealthAware()} {
		b.Run(name, func(b *testing.B) {
			r, err := greyroute.NewRouter(c, greyroute.WithBalancer("s", bal))
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				inst, err := r.Pick(ctx, tenants[i&1023], "s")
				if err != nil {
					b.Fatal(err)
				}
				i++
				r.Done(inst, nil, time.Millisecond)
			}
		})
	}
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func (b *logBuf) count(s string) int {
	return strings.Count(b.String(), s)
}
