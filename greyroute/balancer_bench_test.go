package greyroute

import (
	"fmt"
	"testing"
	"time"
)

// benchEndpoints is the node set: 200 instances, weights 1–10.
func benchEndpoints(b *testing.B) []*Endpoint {
	weights := make([]int, 200)
	for i := range weights {
		weights[i] = 1 + i%10
	}
	return endpoints(b, weights...)
}

// BenchmarkPick is a Picker's Pick alone over 200 endpoints.
func BenchmarkPick(b *testing.B) {
	for _, nb := range allBalancers() {
		b.Run(nb.name, func(b *testing.B) {
			p := nb.bal.Build(benchEndpoints(b))
			b.ReportAllocs()
			for b.Loop() {
				if p.Pick("tenant") == nil {
					b.Fatal("nil pick")
				}
			}
		})
	}
}

// BenchmarkResolvePick is a Router's Pick done locally: resolve the
// tenant's version (pin map of 1,000 tenants, a 25% rollout with a schema
// gate), pick among 200 endpoints and start the call (acquire).
// BenchmarkPickDone adds the Done (breaker, EWMA, health, conns).
func BenchmarkResolvePick(b *testing.B) { benchRouterCall(b, false) }

// BenchmarkPickDone is BenchmarkResolvePick plus the call's Done.
func BenchmarkPickDone(b *testing.B) { benchRouterCall(b, true) }

func benchRouterCall(b *testing.B, done bool) {
	pins := map[string]string{}
	for i := range 1000 {
		pins[fmt.Sprintf("pinned-%d", i)] = "v0"
	}
	r := &route{stable: "v1", rolloutTo: "v2", rolloutBP: 2500, pins: pins, schemaReq: map[string]int{"v2": 2}}
	tenants := make([]string, 1024)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%d", i)
		if i%8 == 0 {
			tenants[i] = fmt.Sprintf("pinned-%d", i)
		}
	}
	for _, nb := range allBalancers() {
		b.Run(nb.name, func(b *testing.B) {
			p := nb.bal.Build(benchEndpoints(b))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tn := tenants[i&1023]
				i++
				if _, _, err := resolve(r, tn, "billing", 3); err != nil {
					b.Fatal(err)
				}
				e := p.Pick(tn)
				tk, _ := e.state.acquire()
				if done {
					e.state.release(tk, nil, time.Millisecond)
				} else {
					e.state.conns.Add(-1) // keep LeastConnections' and P2C's view steady
				}
			}
		})
	}
}
