package cache_test

import (
	"context"
	"fmt"
	"time"

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

func ExampleCache_InvalidateTags() {
	mr, err := miniredis.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	pages, err := cache.New[string](rdb)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pages.Close()
	_ = pages.Set(ctx, "/shop/1", "<html>shop 1</html>", cache.SetTags("shop:1"))
	_ = pages.Set(ctx, "/shop/1/about", "<html>about shop 1</html>", cache.SetTags("shop:1"))
	_ = pages.Set(ctx, "/shop/2", "<html>shop 2</html>", cache.SetTags("shop:2"))

	if err := pages.InvalidateTags(ctx, "shop:1"); err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range []string{"/shop/1", "/shop/1/about", "/shop/2"} {
		_, err := pages.Get(ctx, k)
		fmt.Println(k, err == nil)
	}
	// Output:
	// /shop/1 false
	// /shop/1/about false
	// /shop/2 true
}

func ExampleWithWriteBehind() {
	ctx := context.Background()
	db := map[string]int{} // the system of record
	saves := 0
	store := cache.StoreFunc[int](func(_ context.Context, batch map[string]int) error {
		saves++
		for k, v := range batch {
			db[k] = v
		}
		return nil
	})
	counters, err := cache.New[int](nil, cache.WithWriteBehind[int](store, 100, time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 1; i <= 50; i++ {
		_ = counters.Set(ctx, "visits", i) // cached now, saved later
	}
	fmt.Println("waiting to be saved:", counters.Stats().PendingWrites)
	_ = counters.Close() // saves what waits
	fmt.Println("saved", db["visits"], "in", saves, "batch")
	// Output:
	// waiting to be saved: 1
	// saved 50 in 1 batch
}
