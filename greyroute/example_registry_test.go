package greyroute_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

// staticRegistry is a Registry over a fixed list: an adapter for Nacos,
// Consul or Kubernetes endpoints has this shape, its Instances asking the
// registry (and, to be told of changes, a Watch method: RegistryWatcher).
type staticRegistry map[string][]greyroute.Instance

func (s staticRegistry) Instances(_ context.Context, service string) ([]greyroute.Instance, error) {
	return s[service], nil
}

// Example_registry takes the orders service's instances from a static
// list while its routing — the stable version and a tenant's pin — stays
// in Redis, written by the Admin. It runs on an embedded Redis.
func Example_registry() {
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
	_ = admin.SetStable(ctx, "orders", "v1")
	_ = admin.Pin(ctx, "acme", "orders", "v2")

	list := staticRegistry{"orders": {
		{ID: "orders-a", Version: "v1", Addr: "10.0.0.5:8080"},
		{ID: "orders-b", Version: "v2", Addr: "10.0.0.6:8080"},
	}}
	router, err := greyroute.NewRouter(rdb, greyroute.WithRegistry("orders", list))
	if err != nil {
		panic(err)
	}
	defer router.Close()
	for _, tenant := range []string{"acme", "globex"} {
		inst, err := router.Pick(ctx, tenant, "orders")
		if err != nil {
			fmt.Println(tenant, err)
			continue
		}
		fmt.Printf("%s → %s %s at %s\n", tenant, inst.Version, inst.ID, inst.Addr)
		router.Done(inst, nil, 0)
	}
	// Output:
	// acme → v2 orders-b at 10.0.0.6:8080
	// globex → v1 orders-a at 10.0.0.5:8080
}
