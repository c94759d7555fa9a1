package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/cache"
)

type price struct {
	SKU   string
	Cents int
}

func caching(ctx context.Context) error {
	fmt.Println("\n== cache: in-process L1 in front of Redis, kept coherent across instances")
	rdb, done, err := redisClient()
	if err != nil {
		return err
	}
	defer done()
	// Two instances, as two replicas of a service would have.
	a, err := cache.New[price](rdb, cache.WithPrefix("tour:"), cache.WithTTL(time.Minute))
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := cache.New[price](rdb, cache.WithPrefix("tour:"), cache.WithTTL(time.Minute))
	if err != nil {
		return err
	}
	defer b.Close()

	section("GetOrLoad: one load serves every instance; the absence of a record is cached too")
	loads := 0
	load := func(context.Context) (price, error) { loads++; return price{"sku-1", 1999}, nil }
	for _, c := range []*cache.Cache[price]{a, b, a} {
		p, err := c.GetOrLoad(ctx, "price:sku-1", load, cache.LoadTags("catalog"))
		if err != nil {
			return err
		}
		fmt.Printf("   %s costs %d cents\n", p.SKU, p.Cents)
	}
	fmt.Printf("   loader ran %d time(s) for 3 reads on 2 instances\n", loads)
	_, err = a.GetOrLoad(ctx, "price:gone", func(context.Context) (price, error) { return price{}, cache.ErrNotFound })
	fmt.Printf("   a missing record: %v (remembered for the negative TTL)\n", err)

	section("a write on one instance evicts the key from the other's L1")
	var tok cache.Token
	if err := a.Set(ctx, "price:sku-1", price{"sku-1", 1499}, cache.SetTags("catalog"), cache.ReturnToken(&tok)); err != nil {
		return err
	}
	// With the write's token, b reads its way past a stale L1 at once.
	p, err := b.Get(cache.WithTokens(ctx, tok), "price:sku-1")
	if err != nil {
		return err
	}
	fmt.Printf("   b, with the writer's token: %d cents\n", p.Cents)

	section("InvalidateTags drops every entry of a tag, everywhere")
	if err := a.InvalidateTags(ctx, "catalog"); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.Get(ctx, "price:sku-1")
		if errors.Is(err, cache.ErrMiss) {
			fmt.Println("   b: price:sku-1 is gone")
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("b still serves price:sku-1: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
