package greyroute_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

// TestReviewIndexHostileMember: index members no Admin wrote, put in a
// version's range by hand in place of real ones (so the count still
// matches and nothing rebuilds the index up front), neither fail Picks
// — with any balancer — nor are picked.
func TestReviewIndexHostileMember(t *testing.T) {
	for _, hostile := range []string{"v1\x00x", "v1\x00", "v1\x00a2\x00abcdefg", "v1\x00\x00\x000000001", "v1\x00a2\x00-000001"} {
		for name, bal := range map[string]greyroute.Balancer{"rr": greyroute.RoundRobin(), "swrr": greyroute.SmoothWeightedRoundRobin(),
			"leastconn": greyroute.LeastConnections(), "health": greyroute.HealthAware(), "random": greyroute.Random()} {
			t.Run(name, func(t *testing.T) {
				noLeaks(t)
				ctx := context.Background()
				c := newRedis(t)
				a := newAdmin(t, c, nil)
				register(t, a, "s", "v1", "a1", "a2")
				must(t, a.SetStable(ctx, "s", "v1"))
				r, _ := atomicRouter(t, c, newLoads(), greyroute.WithBalancer("s", bal))
				if _, err := idsPicked(t, r, "t", 2); err != nil {
					t.Fatal(err)
				}
				must(t, c.ZRem(ctx, indexKey, "v1\x00a2\x000000001").Err())
				must(t, c.ZAdd(ctx, indexKey, redis.Z{Member: hostile}).Err())
				got, err := idsPicked(t, r, "t", 6)
				if err != nil {
					t.Fatalf("member %q: %v", hostile, err)
				}
				for _, id := range got {
					if id != "a1" && id != "a2" {
						t.Fatalf("member %q: picked %v", hostile, got)
					}
				}
			})
		}
	}
}

// TestReviewIndexPrefixVersions: versions that are prefixes of one
// another ("v1", "v10", "v1 x", "v1/") and IDs that are prefixes too each
// range over their own instances only, on a standalone server and a
// Cluster; names with "\x00" are refused by every path before a script.
func TestReviewIndexPrefixVersions(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			c := top.client(t)
			a := newAdmin(t, c, nil)
			want := map[string][]string{"v1": {"a", "a0"}, "v10": {"a00", "b"}, "v1 x": {"a\u00a0b"}, "v1/": {"a/"}}
			for v, ids := range want {
				register(t, a, "s", v, ids...)
			}
			must(t, a.SetStable(ctx, "s", "v1"))
			for v := range want {
				must(t, a.Pin(ctx, "t-"+v, "s", v))
			}
			r, _ := atomicRouter(t, c, newLoads(), greyroute.WithBalancer("s", greyroute.RoundRobin()))
			for v, ids := range want {
				got, err := idsPicked(t, r, "t-"+v, 6)
				must(t, err)
				if !slices.Equal(got, ids) {
					t.Fatalf("version %q: picked %v, want %v", v, got, ids)
				}
			}
			for _, err := range []error{
				a.Deregister(ctx, "s", "a\x00"), a.Heartbeat(ctx, "s", "a\x00", time.Hour), a.SetHealth(ctx, "s", "a\x00", 10),
				a.Register(ctx, greyroute.Instance{ID: "a\x00", Service: "s", Version: "v1", Addr: "x:1"}, time.Hour),
				a.Register(ctx, greyroute.Instance{ID: "z", Service: "s", Version: "v1\x00", Addr: "x:1"}, time.Hour),
				a.Pin(ctx, "t", "s", "v1\x00"), a.RequireSchema(ctx, "s", "v1\x00", 1),
			} {
				if !errors.Is(err, greyroute.ErrInvalid) {
					t.Fatalf("a name with NUL: %v, want ErrInvalid", err)
				}
			}
		})
	}
}
