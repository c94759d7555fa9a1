package greyroute_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// loadedTable registers instances of versions v1 and v2 of service "s"
// (half each), pins pins tenants to v2, records a schema for each of
// them, and starts a 25% rollout to v2.
func loadedTable(b *testing.B, c redis.UniversalClient, instances, pins int) {
	ctx := context.Background()
	a, err := greyroute.NewAdmin(c)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for i := range instances {
		v := []string{"v1", "v2"}[i%2]
		id := fmt.Sprintf("%s-%d", v, i)
		inst := greyroute.Instance{ID: id, Service: "s", Version: v, Addr: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250),
			Weight: 1 + i%10, Meta: map[string]string{"zone": fmt.Sprintf("z%d", i%3)}}
		if err := a.Register(ctx, inst, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	for i := range pins {
		tenant := fmt.Sprintf("tenant-%05d", i)
		if err := a.SetSchema(ctx, tenant, 1+i%7); err != nil {
			b.Fatal(err)
		}
		if err := a.Pin(ctx, tenant, "s", "v2"); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.SetStable(ctx, "s", "v1"); err != nil {
		b.Fatal(err)
	}
	if err := a.SetRollout(ctx, "s", greyroute.Rollout{To: "v2", Percent: 25}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRouterPickOnly times the public Pick alone (tenant → version
// resolution and the balancer's choice, 1,000 pins, a 25% rollout, 200
// instances), each balancer; the Done of every 1,024 Picks runs with the
// timer stopped.
func BenchmarkRouterPickOnly(b *testing.B) {
	ctx := context.Background()
	srv := testserver.StartRedis(b, nil)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	loadedTable(b, c, 200, 1000)
	tenants := make([]string, 1024)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%05d", i*7) // an eighth of them pinned
	}
	for _, bc := range []struct {
		name string
		bal  greyroute.Balancer
	}{{"rr", greyroute.RoundRobin()}, {"random", greyroute.Random()}, {"swrr", greyroute.SmoothWeightedRoundRobin()},
		{"leastconn", greyroute.LeastConnections()}, {"p2c", greyroute.P2CEWMA()}, {"health", greyroute.HealthAware()}} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := greyroute.NewRouter(c, greyroute.WithBalancer("s", bc.bal))
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			picked := make([]greyroute.Instance, 0, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				inst, err := r.Pick(ctx, tenants[i&1023], "s")
				if err != nil {
					b.Fatal(err)
				}
				picked = append(picked, inst)
				if len(picked) == cap(picked) {
					b.StopTimer()
					for _, p := range picked {
						r.Done(p, nil, time.Millisecond)
					}
					picked = picked[:0]
					b.StartTimer()
				}
			}
			b.StopTimer()
			for _, p := range picked {
				r.Done(p, nil, time.Millisecond)
			}
		})
	}
}

// BenchmarkRouterMemory reports the heap a Router holds for a table of
// 10,000 pinned tenants (each with a schema) and 200 instances: the
// figure issue 17 asks for. One op is one Router's load.
func BenchmarkRouterMemory(b *testing.B) {
	srv := testserver.StartRedis(b, nil)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	loadedTable(b, c, 200, 10_000)
	var held float64
	for range b.N {
		before := heapInUse()
		r, err := greyroute.NewRouter(c)
		if err != nil {
			b.Fatal(err)
		}
		held = float64(heapInUse() - before)
		runtime.KeepAlive(r)
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(held, "heap-B/router")
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
