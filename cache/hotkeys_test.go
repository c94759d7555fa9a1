package cache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestHotKeys: with L1 off for the "user:" key space, the key read far
// more than the others is found hot, served locally from then on, still
// invalidated by writes on other instances, and dropped from the hot set
// once reads of it stop.
func TestHotKeys(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	c := newCache[string](t, rdb, cache.WithHotKeys(2, 400*time.Millisecond),
		cache.WithLocalKeys(func(k string) bool { return !strings.HasPrefix(k, "user:") }))
	writer := newCache[string](t, rdb)
	for i := range 20 {
		if err := writer.Set(ctx, fmt.Sprint("user:", i), fmt.Sprint("u", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Without heat, user: keys are read from Redis every time.
	for range 3 {
		if _, err := c.Get(ctx, "user:1"); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.L1Hits != 0 || s.L2Hits != 3 {
		t.Fatalf("stats %+v: user: keys must not be in L1", s)
	}
	readHot := func() bool { // one round of a skewed workload; true if user:7 came from L1
		for i := range 20 {
			if _, err := c.Get(ctx, fmt.Sprint("user:", i)); err != nil {
				t.Fatal(err)
			}
		}
		before := c.Stats().L1Hits
		for range 20 {
			if v, err := c.Get(ctx, "user:7"); err != nil || v != "u7" && v != "new" {
				t.Fatalf("user:7 = %q %v", v, err)
			}
		}
		return c.Stats().L1Hits > before
	}
	testserver.WaitFor(t, patience, "user:7 to be served locally", readHot)
	hot := c.HotKeys()
	if len(hot) == 0 || hot[0].Key != "user:7" || len(hot) > 2 {
		t.Fatalf("HotKeys %+v: want user:7 first, at most 2", hot)
	}

	if err := writer.Set(ctx, "user:7", "new"); err != nil {
		t.Fatal(err)
	}
	seenNew := false
	testserver.WaitFor(t, patience, "the hot copy to be invalidated", func() bool {
		v, err := c.Get(ctx, "user:7")
		if err != nil || seenNew && v != "new" {
			t.Fatalf("user:7 = %q %v after serving the new value", v, err)
		}
		seenNew = seenNew || v == "new"
		return seenNew
	})

	testserver.WaitFor(t, patience, "user:7 to cool down", func() bool {
		_, _ = c.Get(ctx, "user:3") // other traffic only
		_, _ = c.Get(ctx, "user:3")
		for _, k := range c.HotKeys() {
			if k.Key == "user:7" {
				return false
			}
		}
		return true
	})
	before := c.Stats()
	if _, err := c.Get(ctx, "user:7"); err != nil {
		t.Fatal(err)
	}
	if after := c.Stats(); after.L2Hits != before.L2Hits+1 {
		t.Fatalf("a cooled-down key must be read from Redis: %+v -> %+v", before, after)
	}
}

// TestHotKeysOnly: L1 off altogether, only the hot keys are local.
func TestHotKeysOnly(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	c := newCache[int](t, rdb, cache.WithLocal(0, 0), cache.WithHotKeys(1, 200*time.Millisecond))
	if err := c.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	testserver.WaitFor(t, patience, "k to be served locally", func() bool {
		before := c.Stats().L1Hits
		for range 10 {
			if v, err := c.Get(ctx, "k"); err != nil || v != 1 {
				t.Fatalf("k = %d %v", v, err)
			}
		}
		return c.Stats().L1Hits > before
	})
	if _, err := cache.New[int](rdb, cache.WithHotKeys(0, time.Second)); err == nil {
		t.Fatal("WithHotKeys(0, ...) accepted")
	}
}
