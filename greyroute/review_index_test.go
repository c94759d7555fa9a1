package greyroute_test

import (
	"context"
	"testing"

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
