package cache_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/cache"
)

func Example() {
	mr, err := miniredis.Run() // any Redis: standalone, Sentinel or Cluster
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	prices, err := cache.New[int](rdb)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer prices.Close()
	loads := 0
	load := func(context.Context) (int, error) { loads++; return 1999, nil }
	for range 3 {
		p, _ := prices.GetOrLoad(ctx, "price:sku-1", load)
		fmt.Println("price", p)
	}
	fmt.Println("loads", loads)
	// Output:
	// price 1999
	// price 1999
	// price 1999
	// loads 1
}
