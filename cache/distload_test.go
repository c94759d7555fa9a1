package cache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// goroutinesIn counts the goroutines whose stack passes through fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

const waitFn = ").awaitLoadLock("

// holdLoad starts a GetOrLoad of key on c whose loader blocks until the
// returned gate is released, and waits until the loader runs (c then
// holds the key's load lock).
func holdLoad(t *testing.T, c *cache.Cache[string], key string) (*gate[string], <-chan error) {
	t.Helper()
	g := newGate("from the holder")
	done := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(context.Background(), key, g.load)
		done <- err
	}()
	<-g.started
	return g, done
}

// TestDistributedWaitEndsWithItsCallers: a process waiting for another's
// load stops waiting (and polling Redis) once its only caller gives up.
func TestDistributedWaitEndsWithItsCallers(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	a := newCache[string](t, rdb, cache.WithDistributedLoad())
	b := newCache[string](t, rdb, cache.WithDistributedLoad())
	g, aDone := holdLoad(t, a, "k")
	defer func() { close(g.release); <-aDone }()

	ctx, cancel := context.WithCancel(context.Background())
	bDone := make(chan error, 1)
	go func() {
		_, err := b.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "b", nil })
		bDone <- err
	}()
	testserver.WaitFor(t, patience, "b to wait for a's load", func() bool { return goroutinesIn(waitFn) == 1 })
	cancel()
	if err := <-bDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("b's caller: %v, want context.Canceled", err)
	}
	testserver.WaitFor(t, patience, "b's wait to end with its caller", func() bool { return goroutinesIn(waitFn) == 0 })
}

// TestHungLoaderDoesNotWedgeTheKey: a loader that ignores its ctx and
// never returns holds up only the callers that chose to wait for it; once
// they have given up, the next miss loads afresh — with and without
// distributed loading.
func TestHungLoaderDoesNotWedgeTheKey(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	for _, opts := range [][]cache.Option{nil, {cache.WithDistributedLoad()}} {
		c := newCache[string](t, rdb, append(opts, cache.WithPrefix(fmt.Sprintf("p%d:", len(opts))))...)
		hung := newGate("never")
		defer close(hung.release) // before Close, which waits for it
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := c.GetOrLoad(ctx, "k", hung.load)
			first <- err
		}()
		<-hung.started
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("the first caller: %v, want context.Canceled", err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), patience)
		v, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "fresh", nil })
		cancel()
		if err != nil || v != "fresh" {
			t.Fatalf("%d options: the next miss after a hung load: %q %v, want a fresh load", len(opts), v, err)
		}
	}
}

// TestLoadTimeout: a loader that ignores its ctx is given up on at the
// load timeout; the caller gets an error saying so.
func TestLoadTimeout(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	c := newCache[string](t, rdb, cache.WithLoadTimeout(100*time.Millisecond))
	hung := newGate("never")
	defer close(hung.release)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, err := c.GetOrLoad(ctx, "k", hung.load)
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || !strings.Contains(err.Error(), "WithLoadTimeout") {
		t.Fatalf("GetOrLoad with a hung loader: %v, want the load timeout's error", err)
	}
	if _, err := cache.New[string](rdb, cache.WithLoadTimeout(0)); !errors.Is(err, cache.ErrInvalid) {
		t.Fatalf("WithLoadTimeout(0): %v", err)
	}
}

// TestDistributedWaitEndsWhenRedisFails: Redis dies while b waits for a's
// load: b returns the failure at once, or, with WithFallbackToLoader,
// loads itself; neither waits for Redis to come back.
func TestDistributedWaitEndsWhenRedisFails(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rclient(t, r.Addr)
	a := newCache[string](t, rdb, cache.WithDistributedLoad())
	b := newCache[string](t, rdb, cache.WithDistributedLoad())
	fb := newCache[string](t, rdb, cache.WithDistributedLoad(), cache.WithFallbackToLoader())
	g, aDone := holdLoad(t, a, "k")
	defer func() { close(g.release); <-aDone }()

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	type result struct {
		v   string
		err error
	}
	bDone, fbDone := make(chan result, 1), make(chan result, 1)
	for _, w := range []struct {
		c    *cache.Cache[string]
		done chan result
	}{{b, bDone}, {fb, fbDone}} {
		go func() {
			v, err := w.c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "loaded itself", nil })
			w.done <- result{v, err}
		}()
	}
	testserver.WaitFor(t, patience, "b and fb to wait for a's load", func() bool { return goroutinesIn(waitFn) == 2 })
	r.Kill()
	if res := <-bDone; res.err == nil || ctx.Err() != nil || errors.Is(res.err, context.DeadlineExceeded) {
		t.Fatalf("b with Redis dead: %q %v, want Redis's error before its ctx ends", res.v, res.err)
	}
	if res := <-fbDone; res.err != nil || res.v != "loaded itself" {
		t.Fatalf("fb (WithFallbackToLoader) with Redis dead: %q %v", res.v, res.err)
	}
}

// TestDistributedLoadFallsBackWhenRedisIsDown: with Redis down from the
// start, WithFallbackToLoader calls the loader under WithDistributedLoad
// too.
func TestDistributedLoadFallsBackWhenRedisIsDown(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rclient(t, r.Addr)
	fb := newCache[string](t, rdb, cache.WithDistributedLoad(), cache.WithFallbackToLoader())
	r.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	v, err := fb.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "from the loader", nil })
	if err != nil || v != "from the loader" {
		t.Fatalf("GetOrLoad with Redis down: %q %v", v, err)
	}
}
