package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/go-kratos/kratos/v2/registry"
	"github.com/go-kratos/kratos/v2/selector"
	"github.com/go-kratos/kratos/v2/selector/filter"
	"github.com/go-kratos/kratos/v2/selector/p2c"
	"github.com/go-kratos/kratos/v2/selector/wrr"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// The node set of issue 17's figures: 200 instances of one service,
// weights 1–10, two versions (so a version filter has work to do).

func kratosNodes() []selector.Node {
	nodes := make([]selector.Node, 200)
	for i := range nodes {
		v := "v1"
		if i%2 == 1 {
			v = "v2"
		}
		nodes[i] = selector.NewNode("http", fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250), &registry.ServiceInstance{
			ID: strconv.Itoa(i), Name: "billing", Version: v,
			Metadata: map[string]string{"weight": strconv.Itoa(1 + i%10)},
		})
	}
	return nodes
}

func greyrouteEndpoints() []*greyroute.Endpoint {
	eps := make([]*greyroute.Endpoint, 200)
	for i := range eps {
		eps[i] = greyroute.NewEndpoint(greyroute.Instance{
			ID: strconv.Itoa(i), Service: "billing", Version: "v1",
			Addr: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250), Weight: 1 + i%10,
		})
	}
	return eps
}

// BenchmarkSelect200 compares a pick over 200 nodes: kratos' selector
// v2.9.2 (Select + done, as its clients call it; with a version filter as
// its canary routing does) against greyroute's Picker (Pick; its Done
// goes through the Router, measured in greyroute's BenchmarkPickDone).
func BenchmarkSelect200(b *testing.B) {
	ctx := context.Background()
	kratos := func(name string, s selector.Selector, opts ...selector.SelectOption) {
		b.Run(name, func(b *testing.B) {
			s.Apply(kratosNodes())
			b.ReportAllocs()
			for b.Loop() {
				_, done, err := s.Select(ctx, opts...)
				if err != nil {
					b.Fatal(err)
				}
				done(ctx, selector.DoneInfo{})
			}
		})
	}
	kratos("kratos/wrr", wrr.New())
	kratos("kratos/p2c", p2c.New())
	kratos("kratos/p2c+version-filter", p2c.New(), selector.WithNodeFilter(filter.Version("v1")))

	ours := func(name string, bal greyroute.Balancer) {
		b.Run(name, func(b *testing.B) {
			p := bal.Build(greyrouteEndpoints())
			b.ReportAllocs()
			for b.Loop() {
				if p.Pick("tenant") == nil {
					b.Fatal("nil pick")
				}
			}
		})
	}
	ours("greyroute/swrr", greyroute.SmoothWeightedRoundRobin())
	ours("greyroute/p2c", greyroute.P2CEWMA())
	ours("greyroute/random", greyroute.Random())
}

// BenchmarkRoute200 compares a whole canary-routing decision over the
// same 200 instances (100 per version): kratos' selector as its canary
// routing does it — a version filter, then p2c, Select + done — against
// greyroute's public Router.Pick + Done, which also resolves the tenant's
// version (1,000 pins, a 25% rollout) from its table.
func BenchmarkRoute200(b *testing.B) {
	ctx := context.Background()
	b.Run("kratos/p2c+version-filter", func(b *testing.B) {
		s := p2c.New()
		s.Apply(kratosNodes())
		b.ReportAllocs()
		for b.Loop() {
			_, done, err := s.Select(ctx, selector.WithNodeFilter(filter.Version("v2")))
			if err != nil {
				b.Fatal(err)
			}
			done(ctx, selector.DoneInfo{})
		}
	})
	b.Run("kratos/wrr+version-filter", func(b *testing.B) {
		s := wrr.New()
		s.Apply(kratosNodes())
		b.ReportAllocs()
		for b.Loop() {
			_, done, err := s.Select(ctx, selector.WithNodeFilter(filter.Version("v2")))
			if err != nil {
				b.Fatal(err)
			}
			done(ctx, selector.DoneInfo{})
		}
	})

	srv := testserver.StartRedis(b, nil)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	a, err := greyroute.NewAdmin(c)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for i := range 200 {
		v := []string{"v1", "v2"}[i%2]
		inst := greyroute.Instance{ID: strconv.Itoa(i), Service: "billing", Version: v,
			Addr: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250), Weight: 1 + i%10}
		if err := a.Register(ctx, inst, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		if err := a.Pin(ctx, fmt.Sprintf("pinned-%d", i), "billing", "v2"); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.SetStable(ctx, "billing", "v1"); err != nil {
		b.Fatal(err)
	}
	if err := a.SetRollout(ctx, "billing", greyroute.Rollout{To: "v2", Percent: 25}); err != nil {
		b.Fatal(err)
	}
	tenants := make([]string, 1024)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%d", i)
		if i%8 == 0 {
			tenants[i] = fmt.Sprintf("pinned-%d", i)
		}
	}
	ours := func(name string, bal greyroute.Balancer) {
		b.Run(name, func(b *testing.B) {
			r, err := greyroute.NewRouter(c, greyroute.WithBalancer("billing", bal))
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				inst, err := r.Pick(ctx, tenants[i&1023], "billing")
				if err != nil {
					b.Fatal(err)
				}
				r.Done(inst, nil, time.Millisecond)
				i++
			}
		})
	}
	ours("greyroute/p2c", greyroute.P2CEWMA())
	ours("greyroute/swrr", greyroute.SmoothWeightedRoundRobin())
}
