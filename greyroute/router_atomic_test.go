package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// evalCalls sums EVAL and EVALSHA calls over every master (INFO
// commandstats): what the servers ran, whatever the client says.
func evalCalls(t *testing.T, c redis.UniversalClient) (evalsha, eval int64) {
	t.Helper()
	ctx := context.Background()
	count := func(info string) {
		for _, line := range strings.Split(info, "\n") {
			for name, n := range map[string]*int64{"cmdstat_evalsha:": &evalsha, "cmdstat_eval:": &eval} {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), name); ok {
					calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
					v, err := strconv.ParseInt(calls, 10, 64)
					must(t, err)
					*n += v
				}
			}
		}
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		var infos []string
		var mu sync.Mutex
		must(t, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			s, err := m.Info(ctx, "commandstats").Result()
			mu.Lock()
			infos = append(infos, s)
			mu.Unlock()
			return err
		}))
		for _, s := range infos {
			count(s)
		}
		return
	}
	s, err := c.Info(ctx, "commandstats").Result()
	must(t, err)
	count(s)
	return
}

// cmdCounter is a go-redis hook counting the commands a client sends.
type cmdCounter struct{ n atomic.Int64 }

func (h *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// cutHook fails every command once dead is set: a link to Redis gone.
type cutHook struct{ dead atomic.Bool }

var errCut = errors.New("test: link to redis cut")

func (h *cutHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *cutHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.dead.Load() {
			cmd.SetErr(errCut)
			return errCut
		}
		return next(ctx, cmd)
	}
}
func (h *cutHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.dead.Load() {
			return errCut
		}
		return next(ctx, cmds)
	}
}

// atomicRouter is an Atomic-mode Router on its own client of the same
// deployment as c (standalone or Cluster), reporting to l.
func atomicRouter(t *testing.T, c redis.UniversalClient, l *loads, opts ...greyroute.Option) (*greyroute.Router, redis.UniversalClient) {
	t.Helper()
	var own redis.UniversalClient
	switch c := c.(type) {
	case *redis.ClusterClient:
		own = redis.NewClusterClient(clusterOptions(c.Options().Addrs[0]))
	case *redis.Client:
		own = redis.NewClient(&redis.Options{Addr: c.Options().Addr})
	}
	t.Cleanup(func() { own.Close() })
	r, err := greyroute.NewRouter(own, append([]greyroute.Option{greyroute.WithAtomic(), greyroute.WithLoadHook(l.hook)}, opts...)...)
	must(t, err)
	t.Cleanup(func() { r.Close() })
	return r, own
}

// TestAtomicSharedRoundRobin: three Routers in Atomic mode, on a
// standalone server and on a 3-master Cluster, share one round-robin
// sequence: together they visit the instances in ID order, none twice
// before all once; each Pick is one EVALSHA the servers ran, nothing
// else; Done gives the shared connection count back.
func TestAtomicSharedRoundRobin(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			c := top.client(t)
			a := newAdmin(t, c, nil)
			register(t, a, "s", "v1", "i3", "i0", "i4", "i1", "i2")
			must(t, a.SetStable(ctx, "s", "v1"))
			hook := &cmdCounter{}
			l := newLoads()
			var rs []*greyroute.Router
			for i := range 3 {
				r, oc := atomicRouter(t, c, l, greyroute.WithBalancer("s", greyroute.RoundRobin()))
				if i == 0 {
					oc.AddHook(hook)
				}
				rs = append(rs, r)
			}
			// Warm the script cache of the node holding {s} (NOSCRIPT → EVAL once).
			inst, err := rs[0].Pick(ctx, "t", "s")
			must(t, err)
			var picked []greyroute.Instance
			picked = append(picked, inst)
			sha0, eval0 := evalCalls(t, c)
			cmds0 := hook.n.Load()
			var got []string
			for k := range 14 {
				r := rs[(k+1)%3]
				inst, err := r.Pick(ctx, fmt.Sprintf("tenant-%d", k), "s")
				must(t, err)
				picked = append(picked, inst)
			}
			for _, in := range picked {
				got = append(got, in.ID)
			}
			want := strings.Repeat("i0 i1 i2 i3 i4 ", 3)
			if g := strings.Join(got, " ") + " "; g != want {
				t.Errorf("shared round robin: %s, want %s", g, want)
			}
			sha1, eval1 := evalCalls(t, c)
			if sha1-sha0 != 14 || eval1 != eval0 {
				t.Errorf("14 picks ran %d EVALSHA and %d EVAL, want 14 and 0", sha1-sha0, eval1-eval0)
			}
			// Router 0 made 4 of them, each one command.
			if n := hook.n.Load() - cmds0; n != 4 {
				t.Errorf("router 0's 4 picks sent %d commands, want 4", n)
			}
			conns := "greyroute:{s}:conns"
			if n, err := c.HGet(ctx, conns, "i0").Int(); err != nil || n != 3 {
				t.Fatalf("i0's shared count = %d, %v; want 3", n, err)
			}
			for j, in := range picked {
				rs[j%3].Done(in, nil, time.Millisecond)     // picked[j] is rs[j%3]'s
				rs[(j+1)%3].Done(in, nil, time.Millisecond) // another Router's: ignored
			}
			l.until(t, "the counts flushed", func(_ map[string]int64, _ map[string]int) bool {
				n, err := c.HLen(ctx, conns).Result()
				return err == nil && n == 0
			})
		})
	}
}

// TestAtomicResolveMatchesLocal: for a grid of tenants — pinned,
// pinned to a version their schema does not meet, in and out of a
// rollout whose target needs a schema, pinned to a version without
// instances (the fallback serves), on a service without a stable version
// or whose stable version needs a schema — an Atomic-mode Router answers
// what a local one does (resolve.go), on a standalone server and a
// Cluster.
func TestAtomicResolveMatchesLocal(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			c := top.client(t)
			a := newAdmin(t, c, nil)
			register(t, a, "s", "v1", "a1", "a2")
			register(t, a, "s", "v2", "b1")
			register(t, a, "s", "v3", "c1")
			must(t, a.SetStable(ctx, "s", "v1"))
			must(t, a.RequireSchema(ctx, "s", "v2", 3))
			must(t, a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 40}))
			must(t, a.SetFallback(ctx, "s", "v3"))
			register(t, a, "nostable", "v1", "n1")
			register(t, a, "gated", "v1", "g1")
			must(t, a.SetStable(ctx, "gated", "v1"))
			must(t, a.RequireSchema(ctx, "gated", "v1", 2))
			var tenants []string
			for i := range 120 {
				tn := fmt.Sprintf("tenant-%d", i)
				tenants = append(tenants, tn)
				switch i % 6 {
				case 1:
					must(t, a.SetSchema(ctx, tn, 3))
				case 2:
					must(t, a.SetSchema(ctx, tn, 3))
					must(t, a.Pin(ctx, tn, "s", "v3"))
				case 3:
					must(t, a.Pin(ctx, tn, "s", "v9")) // no instances: the fallback v3
					must(t, a.Pin(ctx, tn, "nostable", "v1"))
				case 4:
					must(t, a.SetSchema(ctx, tn, 2))
				}
			}
			// A pin the tenant's schema does not meet: refused by Pin, so
			// the schema is lowered after it.
			must(t, a.SetSchema(ctx, "lowered", 3))
			must(t, a.Pin(ctx, "lowered", "s", "v2"))
			must(t, a.SetSchema(ctx, "lowered", 1))
			tenants = append(tenants, "lowered", "")

			local, ll := newRouter(t, c)
			l := newLoads()
			at, _ := atomicRouter(t, c, l, greyroute.WithFallbackVersion("gated", "v1"))
			for _, s := range []string{"s", "nostable", "gated"} {
				ll.rev(t, s, revOf(t, a, s))
				l.rev(t, s, revOf(t, a, s))
			}
			ll.rev(t, "{tenants}", tenantsRev(t, c))
			l.rev(t, "{tenants}", tenantsRev(t, c))
			class := func(err error) string {
				for _, e := range []error{greyroute.ErrUnknownTenant, greyroute.ErrSchema, greyroute.ErrNoInstance} {
					if errors.Is(err, e) {
						return e.Error()
					}
				}
				if err != nil {
					return "other: " + err.Error()
				}
				return ""
			}
			seen := map[string]int{}
			for _, s := range []string{"s", "nostable", "gated", "nosuch"} {
				for _, tn := range tenants {
					li, lerr := local.Pick(ctx, tn, s)
					ai, aerr := at.Pick(ctx, tn, s)
					if li.Version != ai.Version || class(lerr) != class(aerr) {
						t.Errorf("%s/%s: local %q %v; atomic %q %v", tn, s, li.Version, lerr, ai.Version, aerr)
					}
					seen[s+" "+li.Version+" "+class(lerr)]++
					local.Done(li, nil, 0)
					at.Done(ai, nil, 0)
				}
			}
			// The grid reached every branch.
			for _, want := range []string{"s v1 ", "s v2 ", "s v3 ", "nostable v1 ", "nostable  " + greyroute.ErrUnknownTenant.Error(),
				"gated  " + greyroute.ErrSchema.Error(), "gated v1 ", "nosuch  " + greyroute.ErrUnknownTenant.Error()} {
				if seen[want] == 0 {
					t.Errorf("no tenant gave %q: %v", want, seen)
				}
			}
		})
	}
}

// TestAtomicSkips: every balancer in Atomic mode passes over an expired
// instance, one whose health is 50 or less and one whose breaker — this
// Router's own — is open; another Router's breaker is its own affair.
func TestAtomicSkips(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	clk := newClock()
	a := newAdmin(t, c, clk)
	must(t, a.Register(ctx, greyroute.Instance{ID: "a", Service: "s", Version: "v1", Addr: "a:80"}, time.Minute))
	register(t, a, "s", "v1", "b", "c", "d")
	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, a.SetHealth(ctx, "s", "b", 50))
	clk.Advance(2 * time.Minute) // a expires
	pol := greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
	for name, bal := range map[string]greyroute.Balancer{"rr": greyroute.RoundRobin(), "random": greyroute.Random(),
		"swrr": greyroute.SmoothWeightedRoundRobin(), "leastconn": greyroute.LeastConnections(),
		"p2c": greyroute.P2CEWMA(), "health": greyroute.HealthAware()} {
		t.Run(name, func(t *testing.T) {
			l := newLoads()
			r, _ := atomicRouter(t, c, l, pol, greyroute.WithClock(clk.Now), greyroute.WithBalancer("s", bal))
			other, _ := atomicRouter(t, c, l, pol, greyroute.WithClock(clk.Now), greyroute.WithBalancer("s", bal))
			seen := map[string]int{}
			opened := false
			for range 40 {
				inst, err := r.Pick(ctx, "t", "s")
				must(t, err)
				seen[inst.ID]++
				if inst.ID == "c" && !opened {
					r.Done(inst, errors.New("boom"), time.Millisecond) // opens c's breaker
					opened = true
					continue
				}
				if opened && inst.ID == "c" {
					t.Fatalf("picked c after its breaker opened")
				}
				r.Done(inst, nil, time.Millisecond)
			}
			if seen["a"]+seen["b"] != 0 || seen["d"] == 0 {
				t.Errorf("picks %v: want none of a (expired) or b (health 50)", seen)
			}
			if !opened { // random draws miss c 40 times with odds 2^-40
				t.Fatalf("c never picked: %v", seen)
			}
			got := map[string]bool{}
			for range 40 {
				inst, err := other.Pick(ctx, "t", "s")
				must(t, err)
				got[inst.ID] = true
				other.Done(inst, nil, time.Millisecond)
			}
			if !got["c"] {
				t.Errorf("the other Router never picked c: %v", got)
			}
		})
	}
}

// TestAtomicLeastConnShared: least connections in Atomic mode sees the
// other Routers' calls; Done gives them back (greyroute.atomic.done.pending
// back to 0); the counts of a Router that died with calls in progress are
// taken back once its lease lapses.
func TestAtomicLeastConnShared(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			noLeaks(t) // before the client: its cleanups close it first
			testAtomicLeastConnShared(t, top.client(t))
		})
	}
}

func testAtomicLeastConnShared(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	clk := newClock()
	a := newAdmin(t, c, clk)
	register(t, a, "s", "v1", "i1", "i2", "i3")
	must(t, a.SetStable(ctx, "s", "v1"))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	l := newLoads()
	opts := []greyroute.Option{greyroute.WithClock(clk.Now), greyroute.WithBalancer("s", greyroute.LeastConnections())}
	r1, _ := atomicRouter(t, c, l, append(opts, greyroute.WithMeterProvider(mp))...)
	r2, _ := atomicRouter(t, c, l, opts...)
	dying, dc := atomicRouter(t, c, l, append(opts, greyroute.WithMeterProvider(mp))...)

	x, err := r1.Pick(ctx, "t", "s")
	must(t, err)
	y, err := r1.Pick(ctx, "t", "s")
	must(t, err)
	z, err := r2.Pick(ctx, "t", "s")
	must(t, err)
	if ids := map[string]bool{x.ID: true, y.ID: true, z.ID: true}; len(ids) != 3 {
		t.Fatalf("r2 did not see r1's calls: %s %s %s", x.ID, y.ID, z.ID)
	}
	conns := "greyroute:{s}:conns"
	total := func() map[string]string {
		m, err := c.HGetAll(ctx, conns).Result()
		must(t, err)
		for f := range m {
			if strings.Contains(f, "\n") {
				delete(m, f)
			}
		}
		return m
	}
	// The dying Router takes one call and dies: its link to Redis goes
	// first, so Close cannot tell Redis.
	cut := &cutHook{}
	dc.AddHook(cut)
	d, err := dying.Pick(ctx, "t", "s")
	must(t, err)
	cut.dead.Store(true)
	dying.Done(d, nil, 0)
	dying.Close()
	if m := total(); m[d.ID] != "2" {
		t.Fatalf("counts %v: want 2 on %s", m, d.ID)
	}

	r1.Done(x, nil, 0)
	r1.Done(y, nil, 0)
	r2.Done(z, nil, 0)
	metrics := func() map[string]int64 {
		return otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
			if p.Metric == "greyroute.picks" {
				return p.Metric + " " + p.Attr("outcome") + " " + p.Attr("via")
			}
			return p.Metric
		})
	}
	pending := func() int64 { return metrics()["greyroute.atomic.done.pending"] }
	// The gauge moves after Redis did: wait for both.
	l.until(t, "the Dones flushed", func(map[string]int64, map[string]int) bool {
		m := total()
		return len(m) == 1 && m[d.ID] == "1" && pending() == 0
	})
	// The lease lapses: the next Pick takes the dead Router's count back.
	clk.Advance(time.Minute)
	inst, err := r1.Pick(ctx, "t", "s")
	must(t, err)
	if m := total(); len(m) != 1 || m[inst.ID] != "1" {
		t.Fatalf("after the lease: counts %v, want only %s's 1", m, inst.ID)
	}
	r1.Done(inst, nil, 0)
	// The dying Router's Done was lost (its metrics stop at its Close):
	// r1's three picks remain.
	if m := metrics(); m["greyroute.picks ok stable"] != 3 {
		t.Errorf("metrics %v: want 3 ok picks via stable", m)
	}
}

// TestAtomicBadData: what no Admin writes gives an error, never a crash:
// an undecodable instance entry is skipped (ErrNoInstance when nothing
// else is left, naming it), a key of the wrong type is ErrUnavailable.
func TestAtomicBadData(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "good")
	must(t, a.SetStable(ctx, "s", "v1"))
	l := newLoads()
	r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", greyroute.RoundRobin()))
	for _, raw := range []string{"not json", `{"version":"v1","weight":"heavy"}`, `null`, `{"version":"{v1}"}`, `[1,2]`} {
		must(t, c.HSet(ctx, "greyroute:{s}:instances", "bad", raw).Err())
		must(t, c.ZAdd(ctx, "greyroute:{s}:expiry", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "bad"}).Err())
		for range 3 {
			inst, err := r.Pick(ctx, "t", "s")
			must(t, err)
			if inst.ID != "good" {
				t.Fatalf("entry %q: picked %+v", raw, inst)
			}
			r.Done(inst, nil, 0)
		}
	}
	must(t, a.Deregister(ctx, "s", "good"))
	_, err := r.Pick(ctx, "t", "s")
	if !errors.Is(err, greyroute.ErrNoInstance) || !strings.Contains(err.Error(), "1 undecodable") {
		t.Fatalf("only a garbled entry: %v, want ErrNoInstance naming it", err)
	}
	must(t, c.Set(ctx, "greyroute:{s}:route", "garbage", 0).Err())
	if _, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrUnavailable) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("route key of the wrong type: %v, want ErrUnavailable", err)
	}
}

// TestAtomicOptions: a Balancer of the caller's own cannot run in Redis:
// NewRouter refuses it; WithAtomic is a Router option.
func TestAtomicOptions(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	if r, err := greyroute.NewRouter(c, greyroute.WithAtomic(), greyroute.WithBalancer("s", ownBalancer{})); !errors.Is(err, greyroute.ErrInvalid) ||
		!strings.Contains(err.Error(), `"s"`) {
		t.Errorf("custom Balancer in Atomic mode: %v, want ErrInvalid naming the service", err)
		if r != nil {
			r.Close()
		}
	}
	if r, err := greyroute.NewRouter(c, greyroute.WithAtomic(), greyroute.WithRegistry("", &watchedList{})); !errors.Is(err, greyroute.ErrInvalid) ||
		!strings.Contains(err.Error(), "WithRegistry") {
		t.Errorf("WithRegistry in Atomic mode: %v, want ErrInvalid naming WithRegistry", err)
		if r != nil {
			r.Close()
		}
	}
	if _, err := greyroute.NewAdmin(c, greyroute.WithAtomic()); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("NewAdmin(WithAtomic()): %v, want ErrInvalid", err)
	}
	r, err := greyroute.NewRouter(c, greyroute.WithAtomic())
	must(t, err)
	must(t, r.Close())
	if _, err := r.Pick(context.Background(), "t", "s"); !errors.Is(err, greyroute.ErrClosed) {
		t.Errorf("Pick after Close: %v", err)
	}
}

type ownBalancer struct{}

func (ownBalancer) Build([]*greyroute.Endpoint) greyroute.Picker { return nil }

// TestAtomicSWRR: smooth weighted round robin in Atomic mode shares its
// current weights: two Routers taking turns give nginx's interleaved
// sequence for weights 5, 1, 1, never five in a row.
func TestAtomicSWRR(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	for id, w := range map[string]int{"a": 5, "b": 1, "c": 1} {
		must(t, a.Register(ctx, greyroute.Instance{ID: id, Service: "s", Version: "v1", Addr: id + ":80", Weight: w}, time.Hour))
	}
	must(t, a.SetStable(ctx, "s", "v1"))
	l := newLoads()
	var rs []*greyroute.Router
	for range 2 {
		r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", greyroute.SmoothWeightedRoundRobin()))
		rs = append(rs, r)
	}
	var got []string
	for k := range 14 {
		inst, err := rs[k%2].Pick(ctx, "t", "s")
		must(t, err)
		got = append(got, inst.ID)
		rs[k%2].Done(inst, nil, 0)
	}
	if g := strings.Join(got, ""); g != "aabacaaaabacaa" {
		t.Errorf("shared smooth WRR: %s, want aabacaa twice", g)
	}
}

// BenchmarkRouterPickAtomic is Pick+Done in Atomic mode on a standalone
// server: 1,000 pins, a 25% rollout, instancesPerVersion of each of two
// versions.
func BenchmarkRouterPickAtomic(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 200} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			srv := testserver.StartRedis(b, nil)
			c := redis.NewClient(&redis.Options{Addr: srv.Addr})
			defer c.Close()
			a, err := greyroute.NewAdmin(c)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
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
			for _, name := range []string{"rr", "swrr", "leastconn"} {
				bal := map[string]greyroute.Balancer{"rr": greyroute.RoundRobin(), "swrr": greyroute.SmoothWeightedRoundRobin(),
					"leastconn": greyroute.LeastConnections()}[name]
				b.Run(name, func(b *testing.B) {
					r, err := greyroute.NewRouter(c, greyroute.WithAtomic(), greyroute.WithBalancer("s", bal))
					if err != nil {
						b.Fatal(err)
					}
					defer r.Close()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						inst, err := r.Pick(ctx, fmt.Sprintf("tenant-%d", i&1023), "s")
						if err != nil {
							b.Fatal(err)
						}
						i++
						r.Done(inst, nil, time.Millisecond)
					}
				})
			}
		})
	}
}

// TestAtomicRedisDown: a Pick honours its context and, with Redis gone,
// fails with ErrUnavailable; a Done made meanwhile waits in the Router and
// reaches Redis once it is back.
func TestAtomicRedisDown(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true, FsyncAlways: true})
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	l := newLoads()
	r, err := greyroute.NewRouter(standalone(t, srv.Addr, &redis.Options{MaxRetries: -1}), greyroute.WithAtomic(), greyroute.WithLoadHook(l.hook))
	must(t, err)
	t.Cleanup(func() { r.Close() })

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Pick(cancelled, "t", "s"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)
	if n, err := c.HLen(ctx, "greyroute:{s}:conns").Result(); err != nil || n != 1 {
		t.Fatalf("conns fields = %d, %v; want the total", n, err)
	}
	if n, err := c.HLen(ctx, "greyroute:{s}:shares").Result(); err != nil || n != 2 {
		t.Fatalf("shares fields = %d, %v; want the Router's share and its sum", n, err)
	}
	srv.Kill()
	if _, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrUnavailable) {
		t.Fatalf("redis down: %v, want ErrUnavailable", err)
	}
	r.Done(inst, nil, time.Millisecond)
	srv.Restart(t)
	l.until(t, "the Done flushed", func(map[string]int64, map[string]int) bool {
		n, err := c.HLen(ctx, "greyroute:{s}:conns").Result()
		m, err2 := c.HLen(ctx, "greyroute:{s}:shares").Result()
		return err == nil && err2 == nil && n+m == 0
	})
}
