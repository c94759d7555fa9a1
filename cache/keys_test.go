package cache_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestKeyLayout pins the on-Redis layout the package doc describes.
func TestKeyLayout(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	c := newCache[string](t, rdb, cache.WithDistributedLoad())
	if err := c.Set(ctx, "user:{42}", "v", cache.SetTags("org}7")); err != nil {
		t.Fatal(err)
	}
	lk := newGate("x")
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		_, _ = c.GetOrLoad(ctx, "cold", lk.load)
	}()
	<-lk.started // holds the load lock and the lease
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{"cache:k:cold", "cache:k:user:{42}", "cache:l:{cold}", "cache:l:{cold}:fence",
		`cache:t:{org\)7}`, `cache:t:{org\)7}:keys`}
	close(lk.release)
	<-loaded
	if !slices.Equal(keys, want) {
		t.Fatalf("keys in Redis:\n%q\nwant\n%q", keys, want)
	}
}

// TestUserKeysCannotReachInternalKeys: whatever key a caller picks, it
// cannot overwrite a tag's version or index nor take a load lock — not
// with the names of the old layout, nor with the new ones.
func TestUserKeysCannotReachInternalKeys(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c := newCache[string](t, rdb, cache.WithDistributedLoad())
	hostile := []string{
		"tag:{t}", "tag:{t}:keys", "load:{k}", "load:{k}:fence", // the old layout
		"t:{t}", "t:{t}:keys", "l:{k}", "l:{k}:fence", "k:k", "__invalidate", // the new one
	}
	for _, k := range hostile {
		if err := c.Set(ctx, k, "user value"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set(ctx, "tagged", "v", cache.SetTags("t")); err != nil {
		t.Fatalf("SetTags(t) with user keys named like t's internals: %v", err)
	}
	v, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "loaded", nil })
	if err != nil || v != "loaded" {
		t.Fatalf("distributed load of k with user keys named like its lock: %q %v", v, err)
	}
	if err := c.InvalidateTags(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "tagged"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("tagged entry after InvalidateTags: %v", err)
	}
	for _, k := range hostile {
		if v, err := c.Get(ctx, k); err != nil || v != "user value" {
			t.Fatalf("user key %q: %q %v", k, v, err)
		}
	}
}

// TestNestedPrefixesRefused: caches whose prefixes nest share internal
// keys ("app:"'s user key "t:{org}" is "app:k:"'s tag org), so a second
// cache on the same client with a nested prefix is refused; a shared
// prefix, and a prefix freed by Close, are fine. (Caches on different
// clients cannot be checked: the package doc says so.)
func TestNestedPrefixesRefused(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	outer := newCache[string](t, rdb, cache.WithPrefix("app:"))
	for _, p := range []string{"app:k:", "ap"} {
		if c, err := cache.New[string](rdb, cache.WithPrefix(p)); !errors.Is(err, cache.ErrInvalid) {
			if c != nil {
				_ = c.Close()
			}
			t.Fatalf("WithPrefix(%q) beside a cache prefixed \"app:\": %v, want ErrInvalid", p, err)
		}
	}
	shared := newCache[string](t, rdb, cache.WithPrefix("app:")) // one cache, two instances
	newCache[string](t, rdb, cache.WithPrefix("other:"))
	for _, x := range []*cache.Cache[string]{outer, shared} {
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c, err := cache.New[string](rdb, cache.WithPrefix("app:k:"))
	if err != nil {
		t.Fatalf("a nested prefix once the other caches are closed: %v", err)
	}
	_ = c.Close()
}
