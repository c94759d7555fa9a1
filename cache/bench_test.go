package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/cache"
)

// BenchmarkL1Hit: Get of a key L1 holds, []byte values (the L1 path is
// the same with a Redis client behind it).
func BenchmarkL1Hit(b *testing.B) {
	c, err := cache.New[[]byte](nil, cache.WithLocal(1024, time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", make([]byte, 1024)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}
