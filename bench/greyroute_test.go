package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/go-kratos/kratos/v2/registry"
	"github.com/go-kratos/kratos/v2/selector"
	"github.com/go-kratos/kratos/v2/selector/filter"
	"github.com/go-kratos/kratos/v2/selector/p2c"
	"github.com/go-kratos/kratos/v2/selector/wrr"

	"github.com/groundwork-go/groundwork/greyroute"
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
