package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

const indexKey = "greyroute:{s}:index"

// indexOf returns the index's members for version, as "id/weight".
func indexOf(t *testing.T, c redis.UniversalClient, version string) []string {
	t.Helper()
	ms, err := c.ZRangeByLex(context.Background(), indexKey, &redis.ZRangeBy{Min: "[" + version + "\x00", Max: "(" + version + "\x01"}).Result()
	must(t, err)
	var out []string
	for _, m := range ms {
		parts := strings.Split(m, "\x00")
		out = append(out, parts[1]+"/"+strings.TrimLeft(parts[2], "0"))
	}
	return out
}

// idsPicked makes n Picks of tenant and returns the IDs picked, sorted
// and without repeats, or the error of the first that failed.
func idsPicked(t *testing.T, r *greyroute.Router, tenant string, n int) ([]string, error) {
	t.Helper()
	seen := map[string]bool{}
	for range n {
		inst, err := r.Pick(context.Background(), tenant, "s")
		if err != nil {
			return nil, err
		}
		seen[inst.ID] = true
		r.Done(inst, nil, 0)
	}
	var out []string
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// TestAtomicIndex: the Admin's scripts keep the per-version index in step
// with the instances — Register adds, a Register with another version or
// weight moves, Deregister and the expiry sweep remove — and an
// Atomic-mode Pick follows it, on a standalone server and a Cluster.
func TestAtomicIndex(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			c := top.client(t)
			clk := newClock()
			a := newAdmin(t, c, clk)
			register(t, a, "s", "v1", "a1", "a2")
			register(t, a, "s", "v2", "b1")
			must(t, a.Register(ctx, greyroute.Instance{ID: "short", Service: "s", Version: "v1", Addr: "x:1"}, time.Minute))
			must(t, a.SetStable(ctx, "s", "v1"))
			must(t, a.Pin(ctx, "pinned", "s", "v2"))
			l := newLoads()
			r, _ := atomicRouter(t, c, l, greyroute.WithClock(clk.Now), greyroute.WithBalancer("s", greyroute.RoundRobin()))
			check := func(step, tenant string, want []string) {
				t.Helper()
				got, err := idsPicked(t, r, tenant, 8)
				must(t, err)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: picked %v, want %v", step, got, want)
				}
			}
			if got := indexOf(t, c, "v1"); !slices.Equal(got, []string{"a1/1", "a2/1", "short/1"}) {
				t.Fatalf("index of v1: %v", got)
			}
			check("registered", "t", []string{"a1", "a2", "short"})

			// a2 moves to v2 with weight 3.
			must(t, a.Register(ctx, greyroute.Instance{ID: "a2", Service: "s", Version: "v2", Addr: "a2:80", Weight: 3}, time.Hour))
			if v1, v2 := indexOf(t, c, "v1"), indexOf(t, c, "v2"); !slices.Equal(v1, []string{"a1/1", "short/1"}) || !slices.Equal(v2, []string{"a2/3", "b1/1"}) {
				t.Fatalf("after a2 moved: v1 %v, v2 %v", v1, v2)
			}
			check("a2 moved", "t", []string{"a1", "short"})
			check("a2 moved", "pinned", []string{"a2", "b1"})

			// short expires: not picked at once, and gone from the index
			// at the next sweep (any Register or Heartbeat).
			clk.Advance(2 * time.Minute)
			check("short expired", "t", []string{"a1"})
			must(t, a.Heartbeat(ctx, "s", "a1", time.Hour))
			if got := indexOf(t, c, "v1"); !slices.Equal(got, []string{"a1/1"}) {
				t.Fatalf("after the sweep: index of v1 %v", got)
			}

			// a1 deregistered: v1 has none; deregistering again is a no-op.
			must(t, a.Deregister(ctx, "s", "a1"))
			must(t, a.Deregister(ctx, "s", "a1"))
			if got := indexOf(t, c, "v1"); len(got) != 0 {
				t.Fatalf("after deregister: index of v1 %v", got)
			}
			if _, err := idsPicked(t, r, "t", 1); !errors.Is(err, greyroute.ErrNoInstance) {
				t.Fatalf("v1 without instances: %v, want ErrNoInstance", err)
			}
			// One member per instance, plus the marker.
			n, err := c.ZCard(ctx, indexKey).Result()
			must(t, err)
			if h := c.HLen(ctx, "greyroute:{s}:instances").Val(); n != h+1 {
				t.Fatalf("index holds %d members for %d instances", n, h)
			}
		})
	}
}

// TestAtomicIndexRebuilt: data the index does not describe — written
// before it existed (no index key), or around it (a hand edit of an
// entry's version, an entry added by an older Admin) — is found: the
// index is rebuilt from the entries, never a silent wrong answer.
func TestAtomicIndexRebuilt(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "a1", "a2")
	register(t, a, "s", "v2", "b1")
	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, a.Pin(ctx, "pinned", "s", "v2"))
	l := newLoads()
	r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", greyroute.RoundRobin()))

	// Data from before the index.
	must(t, c.Del(ctx, indexKey).Err())
	got, err := idsPicked(t, r, "t", 6)
	must(t, err)
	if !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("without an index: picked %v", got)
	}

	// a2's entry edited by hand to v2: the index still says v1.
	raw, err := c.HGet(ctx, "greyroute:{s}:instances", "a2").Result()
	must(t, err)
	must(t, c.HSet(ctx, "greyroute:{s}:instances", "a2", strings.Replace(raw, `"v1"`, `"v2"`, 1)).Err())
	for range 4 {
		inst, err := r.Pick(ctx, "t", "s")
		must(t, err)
		if inst.ID != "a1" || inst.Version != "v1" {
			t.Fatalf("after a2 moved by hand: picked %+v for v1", inst)
		}
		r.Done(inst, nil, 0)
	}
	if got, err := idsPicked(t, r, "pinned", 6); err != nil || !slices.Equal(got, []string{"a2", "b1"}) {
		t.Fatalf("v2 after a2 moved by hand: %v, %v", got, err)
	}

	// An instance added without the index (an older Admin): its expiry and entry only.
	must(t, c.HSet(ctx, "greyroute:{s}:instances", "a3", `{"addr":"a3:80","version":"v1","weight":0}`).Err())
	must(t, c.ZAdd(ctx, "greyroute:{s}:expiry", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "a3"}).Err())
	if got, err := idsPicked(t, r, "t", 6); err != nil || !slices.Equal(got, []string{"a1", "a3"}) {
		t.Fatalf("after a3 added around the index: %v, %v", got, err)
	}

	// An entry with no expiry at all is not live (as the local Router
	// has it), though the index lists it.
	must(t, c.ZRem(ctx, "greyroute:{s}:expiry", "a3").Err())
	if got, err := idsPicked(t, r, "t", 6); err != nil || !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("a3 without an expiry: %v, %v", got, err)
	}
}

// TestAtomicLargeVersion: a version of more instances than one Lua
// unpack takes (about 8,000) is picked from with every balancer; the
// index is built for them in one script.
func TestAtomicLargeVersion(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "seed")
	must(t, a.SetStable(ctx, "s", "v1"))
	// Written directly (9,000 Registers would take long); the index is
	// then rebuilt by the first Pick.
	const n = 9000
	exp := float64(time.Now().Add(time.Hour).UnixMilli())
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			id := fmt.Sprintf("i%05d", i)
			p.HSet(ctx, "greyroute:{s}:instances", id, fmt.Sprintf(`{"addr":"%s:80","version":"v1","weight":%d}`, id, 1+i%3))
			p.ZAdd(ctx, "greyroute:{s}:expiry", redis.Z{Score: exp, Member: id})
			p.HSet(ctx, "greyroute:{s}:health", id, 90)
			p.HSet(ctx, "greyroute:{s}:conns", id, i%5) // a large conns hash too
		}
		return nil
	})
	must(t, err)
	for name, bal := range map[string]greyroute.Balancer{"rr": greyroute.RoundRobin(), "swrr": greyroute.SmoothWeightedRoundRobin(),
		"leastconn": greyroute.LeastConnections(), "health": greyroute.HealthAware(), "random": greyroute.Random()} {
		t.Run(name, func(t *testing.T) {
			l := newLoads()
			r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", bal))
			for range 3 {
				inst, err := r.Pick(ctx, "t", "s")
				if err != nil {
					t.Fatalf("pick among %d instances: %v", n, err)
				}
				r.Done(inst, nil, 0)
			}
		})
	}
	if got := len(indexOf(t, c, "v1")); got != n+1 {
		t.Fatalf("index of v1 holds %d, want %d", got, n+1)
	}
}

// TestAtomicSWRRLongRun: smooth WRR's shared pick count starts again from
// 0 before count × weight outgrows a Lua number's exact integers; the
// sequence goes on as nginx's across it (weights 5, 1, 1: aabacaa).
func TestAtomicSWRRLongRun(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	for id, w := range map[string]int{"a": 5, "b": 1, "c": 1} {
		must(t, a.Register(ctx, greyroute.Instance{ID: id, Service: "s", Version: "v1", Addr: id + ":80", Weight: w}, time.Hour))
	}
	must(t, a.SetStable(ctx, "s", "v1"))
	// 2^31 − 3 Picks already made: the count wraps at the third Pick.
	must(t, c.HSet(ctx, "greyroute:{s}:lb", "swrr\nv1", 1<<31-3).Err())
	l := newLoads()
	r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", greyroute.SmoothWeightedRoundRobin()))
	var got []string
	for range 21 {
		inst, err := r.Pick(ctx, "t", "s")
		must(t, err)
		got = append(got, inst.ID)
		r.Done(inst, nil, 0)
	}
	if g := strings.Join(got, ""); g != strings.Repeat("aabacaa", 3) {
		t.Errorf("smooth WRR across the count's wrap: %s, want aabacaa thrice", g)
	}
	if k, err := c.HGet(ctx, "greyroute:{s}:lb", "swrr\nv1").Int(); err != nil || k >= 21 {
		t.Errorf("pick count after the wrap: %d, %v", k, err)
	}
}
