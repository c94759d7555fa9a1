package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestTags runs on standalone and on a 3-master Cluster: InvalidateTags
// removes every entry set with the tag, at once in Redis (an instance
// without L1 misses every one of them as soon as the call returns) and
// from every instance's L1 once the announcement arrives; untagged
// entries stay; the stale entries are deleted from Redis.
func TestTags(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		testTags(t, rclient(t, testserver.StartRedis(t, nil).Addr))
	})
	t.Run("cluster", func(t *testing.T) {
		rc := testserver.StartRedisCluster(t)
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		testTags(t, c)
	})
}

func testTags(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	a, b := newCache[string](t, rdb), newCache[string](t, rdb)
	l2only := newCache[string](t, rdb, cache.WithLocal(0, 0))
	const n = 50 // keys spread over many slots
	for i := range n {
		tags := []string{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if err := a.Set(ctx, fmt.Sprint("k", i), fmt.Sprint("v", i), cache.SetTags(tags...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Set(ctx, "untagged", "stays"); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b, "k0")
	for i := range n { // b holds every key in L1
		if v, err := b.Get(ctx, fmt.Sprint("k", i)); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("b: k%d = %q %v", i, v, err)
		}
	}

	if err := a.InvalidateTags(ctx, "even"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		k := fmt.Sprint("k", i)
		_, err := l2only.Get(ctx, k)
		if i%2 == 0 && !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("%s, tagged even, right after InvalidateTags: %v, want ErrMiss", k, err)
		}
		if i%2 == 1 && err != nil {
			t.Fatalf("%s, not tagged even: %v", k, err)
		}
		if _, err := a.Get(ctx, k); (i%2 == 0) != errors.Is(err, cache.ErrMiss) {
			t.Fatalf("a: %s after invalidating even: %v", k, err)
		}
	}
	testserver.WaitFor(t, patience, "b to drop the even keys", func() bool {
		_, err := b.Get(ctx, "k0")
		return errors.Is(err, cache.ErrMiss)
	})
	for i := 0; i < n; i += 2 {
		if v, err := b.Get(ctx, fmt.Sprint("k", i)); !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("b: k%d after the announcement: %q %v", i, v, err)
		}
		if ex := rdb.Exists(ctx, fmt.Sprint("cache:k:k", i)).Val(); ex != 0 {
			t.Fatalf("k%d still in Redis", i)
		}
	}

	// Re-set under the invalidated tag: cached again, in L1 too.
	if err := a.Set(ctx, "k0", "again", cache.SetTags("even", "all")); err != nil {
		t.Fatal(err)
	}
	testserver.WaitFor(t, patience, "b to serve k0 anew from L1", func() bool {
		before := b.Stats().L1Hits
		v, err := b.Get(ctx, "k0")
		if err == nil && v != "again" {
			t.Fatalf("b: k0 = %q after its re-set was read", v)
		}
		return v == "again" && b.Stats().L1Hits > before
	})

	// The version alone makes entries stale: with the tag's index lost
	// (as under maxmemory eviction) nothing is deleted, yet all miss.
	if err := rdb.Del(ctx, "cache:t:{all}:keys").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.InvalidateTags(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l2only.Get(ctx, fmt.Sprint("k", i)); !errors.Is(err, cache.ErrMiss) {
			t.Fatalf("k%d right after invalidating all (index lost): %v", i, err)
		}
	}
	testserver.WaitFor(t, patience, "a to drop every tagged key", func() bool {
		for i := range n {
			if _, err := a.Get(ctx, fmt.Sprint("k", i)); !errors.Is(err, cache.ErrMiss) {
				return false
			}
		}
		return true
	})
	for _, c := range []*cache.Cache[string]{a, b, l2only} {
		if v, err := c.Get(ctx, "untagged"); err != nil || v != "stays" {
			t.Fatalf("untagged entry: %q %v", v, err)
		}
	}
	// GetOrLoad tags what it loads.
	if _, err := a.GetOrLoad(ctx, "loaded", func(context.Context) (string, error) { return "x", nil }, cache.LoadTags("all")); err != nil {
		t.Fatal(err)
	}
	if err := a.InvalidateTags(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	if _, err := l2only.Get(ctx, "loaded"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("loaded entry after invalidating its tag: %v", err)
	}
	if err := a.InvalidateTags(ctx, ""); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("empty tag: %v", err)
	}
	if err := a.Set(ctx, "x", "y", cache.SetTags("")); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("empty tag on Set: %v", err)
	}
}

func TestTagsLocalOnly(t *testing.T) {
	ctx := context.Background()
	c := newCache[int](t, nil, cache.WithLocal(100, time.Minute))
	for i := range 4 {
		if err := c.Set(ctx, fmt.Sprint(i), i, cache.SetTags(fmt.Sprint("mod", i%2))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.InvalidateTags(ctx, "mod0"); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		_, err := c.Get(ctx, fmt.Sprint(i))
		if (i%2 == 0) != errors.Is(err, cache.ErrMiss) {
			t.Fatalf("key %d after invalidating mod0: %v", i, err)
		}
	}
}
