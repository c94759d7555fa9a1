package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

// ExampleAdmin registers two versions of a service, rolls 5% of tenants
// out to the new one, and moves one tenant there after migrating its
// schema. It runs on an embedded Redis; a service gives NewAdmin its own
// client (standalone, Sentinel or Cluster).
func ExampleAdmin() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	admin, err := greyroute.NewAdmin(rdb)
	if err != nil {
		panic(err)
	}
	defer admin.Close()
	_ = admin.Register(ctx, greyroute.Instance{ID: "orders-1", Service: "orders", Version: "v1", Addr: "10.0.0.5:8080"}, 30*time.Second)
	_ = admin.Register(ctx, greyroute.Instance{ID: "orders-2", Service: "orders", Version: "v2", Addr: "10.0.0.6:8080"}, 30*time.Second)
	_ = admin.SetStable(ctx, "orders", "v1")
	_ = admin.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 5})
	_ = admin.RequireSchema(ctx, "orders", "v2", 7)

	err = admin.Pin(ctx, "acme", "orders", "v2")
	fmt.Println("pin before migrating:", errors.Is(err, greyroute.ErrSchema))

	err = admin.MoveTenant(ctx, "acme", "orders", "v2", func(ctx context.Context) (int, error) {
		// Run acme's database migrations here; return the schema they reached.
		return 7, nil
	})
	fmt.Println("move:", err)

	tab, _ := admin.Snapshot(ctx, "orders")
	fmt.Printf("rev %d: stable %s, rollout %s at %d bp, acme on %s, %d instances\n",
		tab.Rev, tab.Stable, tab.RolloutTo, tab.RolloutBP, tab.Pins["acme"], len(tab.Instances))
	// Output:
	// pin before migrating: true
	// move: <nil>
	// rev 6: stable v1, rollout v2 at 500 bp, acme on v2, 2 instances
}
