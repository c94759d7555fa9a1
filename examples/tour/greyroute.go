package main

import (
	"context"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
)

// greyRouting registers two versions of a service, rolls the new one out
// to a share of the tenants with one tenant pinned to it, and asks a
// Router where a few tenants go (examples/greyrollout tells the whole
// story: HTTP, raising the share, an automatic rollback).
func greyRouting(ctx context.Context) error {
	fmt.Println("\n== greyroute: each tenant's calls go to its version of a service, decided locally")
	rdb, done, err := redisClient()
	if err != nil {
		return err
	}
	defer done()
	prefix := greyroute.WithPrefix("tour:") // Admins and Routers of one table share it
	admin, err := greyroute.NewAdmin(rdb, prefix)
	if err != nil {
		return err
	}
	defer admin.Close()
	// Instances register themselves and heartbeat within the ttl.
	for _, inst := range []greyroute.Instance{
		{ID: "orders-1", Service: "orders", Version: "v1", Addr: "10.0.0.1:8080"},
		{ID: "orders-2", Service: "orders", Version: "v2", Addr: "10.0.0.2:8080"},
	} {
		if err := admin.Register(ctx, inst, time.Minute); err != nil {
			return err
		}
	}
	if err := admin.SetStable(ctx, "orders", "v1"); err != nil {
		return err
	}
	if err := admin.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 30}); err != nil {
		return err
	}
	if err := admin.Pin(ctx, "acme", "orders", "v2"); err != nil {
		return err
	}
	// The Router loads the table before it returns and follows changes by
	// Pub/Sub; a Pick reads its memory only.
	router, err := greyroute.NewRouter(rdb, prefix)
	if err != nil {
		return err
	}
	defer router.Close()

	section("stable v1, v2 rolled out to 30% of the tenants (a stable hash of each), acme pinned to v2")
	for _, tenant := range []string{"acme", "globex", "initech", "tyrell", "soylent", "hooli"} {
		inst, err := router.Pick(ctx, tenant, "orders")
		if err != nil {
			return err
		}
		why := "stable"
		switch {
		case tenant == "acme":
			why = "pinned"
		case inst.Version == "v2":
			why = "in the rollout"
		}
		fmt.Printf("   %-8s → %s at %s (%s)\n", tenant, inst.Version, inst.Addr, why)
		router.Done(inst, nil, time.Millisecond) // the call's outcome feeds the breaker and latency average
	}
	return nil
}
