package greyroute_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// regFunc is a Registry made of a function.
type regFunc func(ctx context.Context, service string) ([]greyroute.Instance, error)

func (f regFunc) Instances(ctx context.Context, service string) ([]greyroute.Instance, error) {
	return f(ctx, service)
}

// TestReviewRegistryFailureSkipsOthers: one service's registry failing
// must not stop a full resync from loading the rest — here the tenants'
// schemas, which a resync reads after every service. A schema change made
// while the Router's subscription was down (its event lost) must arrive
// with the resync that follows the resubscription.
func TestReviewRegistryFailureSkipsOthers(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "bad", "v1", "b1")
	must(t, a.SetStable(ctx, "bad", "v1"))
	var mu sync.Mutex
	failing := false
	reg := regFunc(func(context.Context, string) ([]greyroute.Instance, error) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return nil, errors.New("consul: connection refused")
		}
		return []greyroute.Instance{{ID: "b1", Version: "v1", Addr: "10.0.0.1:80"}}, nil
	})
	gate := make(chan struct{})
	var once sync.Once
	release := sync.OnceFunc(func() { close(gate) })
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRegistry("bad", reg),
		greyroute.WithReconnectHook(func() { once.Do(func() { <-gate }) }))
	t.Cleanup(release) // before the Router's Close
	l.rev(t, "bad", revOf(t, a, "bad"))
	_ = r

	mu.Lock()
	failing = true
	mu.Unlock()
	// Cut the Router's subscription; while it waits to resubscribe, a
	// schema is written (its event lost).
	must(t, c.ClientKillByFilter(ctx, "TYPE", "pubsub").Err())
	l.until(t, "the outage", func(_ map[string]int64, n map[string]int) bool { return n["stale"] >= 1 })
	must(t, a.SetSchema(ctx, "acme", 3))
	want := tenantsRev(t, c)
	release()
	l.rev(t, "{tenants}", want)
}

// TestReviewRegistryPanics: a Registry's panic is its bug, not the
// process's end: NewRouter returns an error naming it.
func TestReviewRegistryPanics(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "pay", "v1", "p1")
	must(t, a.SetStable(ctx, "pay", "v1"))
	reg := regFunc(func(context.Context, string) ([]greyroute.Instance, error) {
		panic("adapter bug")
	})
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("NewRouter panicked with the Registry: %v", p)
			}
		}()
		var r *greyroute.Router
		r, err = greyroute.NewRouter(standalone(t, srv.Addr, nil), greyroute.WithRegistry("pay", reg))
		if err == nil {
			r.Close()
		}
	}()
	if err == nil {
		t.Fatalf("NewRouter with a panicking Registry: no error")
	}
}

// panickyWatcher is a RegistryWatcher whose Watch panics.
type panickyWatcher struct{ regFunc }

func (panickyWatcher) Watch(context.Context, func(string)) error { panic("watch bug") }

// TestReviewRegistryWatchPanics: a Watch that panics (in the Router's own
// goroutine) is logged, not the process's end; routing goes on.
func TestReviewRegistryWatchPanics(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "pay", "v1", "p1")
	must(t, a.SetStable(ctx, "pay", "v1"))
	reg := panickyWatcher{regFunc(func(context.Context, string) ([]greyroute.Instance, error) {
		return []greyroute.Instance{{ID: "p1", Version: "v1", Addr: "10.0.0.1:80"}}, nil
	})}
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRegistry("pay", reg))
	l.rev(t, "pay", revOf(t, a, "pay"))
	inst, err := r.Pick(ctx, "t", "pay")
	must(t, err)
	r.Done(inst, nil, 0)
}

// TestReviewRegistryBlocks: a Registry that does not answer (a hung
// Consul) stalls the Router's one loader, so no other service's change
// was installed either. Its call is bounded: the other service's change
// arrives.
func TestReviewRegistryBlocks(t *testing.T) {
	noLeaks(t)
	greyroute.SetRegistryTimeout(t, 50*time.Millisecond)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "slow", "v1", "s1")
	must(t, a.SetStable(ctx, "slow", "v1"))
	register(t, a, "other", "v1", "o1")
	must(t, a.SetStable(ctx, "other", "v1"))
	var mu sync.Mutex
	hang := false
	reg := regFunc(func(ctx context.Context, _ string) ([]greyroute.Instance, error) {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			<-ctx.Done() // answers only when given up on
			return nil, ctx.Err()
		}
		return []greyroute.Instance{{ID: "s1", Version: "v1", Addr: "10.0.0.1:80"}}, nil
	})
	_, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRegistry("slow", reg))
	l.rev(t, "slow", revOf(t, a, "slow"))
	l.rev(t, "other", revOf(t, a, "other"))
	mu.Lock()
	hang = true
	mu.Unlock()
	must(t, a.SetStable(ctx, "slow", "v1")) // idempotent: no event
	register(t, a, "slow", "v1", "s2")      // an event for slow: its reload hangs
	register(t, a, "other", "v1", "o2")
	l.rev(t, "other", revOf(t, a, "other"))
}

// earlyWatcher is a RegistryWatcher whose Watch returns at once, without
// an error, and calls changed from a goroutine after the Router closed.
type earlyWatcher struct {
	regFunc
	late chan func(string)
}

func (w earlyWatcher) Watch(_ context.Context, changed func(string)) error {
	w.late <- changed
	return nil
}

// TestReviewRegistryWatchEndsEarly: a Watch that returns before the
// Router closes — even with no error — ends the live updates: that is
// logged. A changed call after Close does nothing.
func TestReviewRegistryWatchEndsEarly(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "pay", "v1", "p1")
	must(t, a.SetStable(ctx, "pay", "v1"))
	reg := earlyWatcher{regFunc(func(context.Context, string) ([]greyroute.Instance, error) {
		return []greyroute.Instance{{ID: "p1", Version: "v1", Addr: "10.0.0.1:80"}}, nil
	}), make(chan func(string), 1)}
	var logs logBuf
	l := newLoads()
	r, err := greyroute.NewRouter(standalone(t, srv.Addr, nil), greyroute.WithRegistry("pay", reg),
		greyroute.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), greyroute.WithLoadHook(l.hook))
	must(t, err)
	changed := <-reg.late
	l.rev(t, "pay", revOf(t, a, "pay"))
	must(t, r.Close())
	if !strings.Contains(logs.String(), "registry watch ended") {
		t.Errorf("a Watch that returned early was not logged:\n%s", logs.String())
	}
	changed("pay") // after Close: nothing, and no panic
}
