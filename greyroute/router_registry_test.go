package greyroute_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// watchedList is a Registry over a list the test changes, announcing
// each change: the shape of a Nacos or Consul adapter.
type watchedList struct {
	mu      sync.Mutex
	insts   map[string][]greyroute.Instance
	err     error
	changes chan string
}

func (w *watchedList) Instances(_ context.Context, service string) ([]greyroute.Instance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.insts[service], w.err
}

func (w *watchedList) Watch(ctx context.Context, changed func(string)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-w.changes:
			changed(s)
		}
	}
}

func (w *watchedList) set(service string, insts []greyroute.Instance, err error) {
	w.mu.Lock()
	w.insts[service], w.err = insts, err
	w.mu.Unlock()
	w.changes <- service
}

// TestRegistry: a service's instances come from its Registry while its
// routing (stable, pins) stays in Redis; the Registry's change
// notifications reload it; a failing Registry keeps the last table;
// other services keep Redis's instances; the Admin is the built-in
// Registry.
func TestRegistry(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "pay", "v1", "redis-only") // ignored: pay's instances come from the registry
	must(t, a.SetStable(ctx, "pay", "v1"))
	must(t, a.Pin(ctx, "acme", "pay", "v2"))
	register(t, a, "other", "v1", "o1")
	must(t, a.SetStable(ctx, "other", "v1"))

	reg := &watchedList{changes: make(chan string), insts: map[string][]greyroute.Instance{
		"pay": {
			{ID: "p1", Version: "v1", Addr: "10.0.0.1:80"},
			{ID: "p2", Version: "v2", Addr: "10.0.0.2:80"},
			{ID: "", Version: "v1", Addr: "x:80"},      // no ID: left out
			{ID: "p3", Version: "{bad}", Addr: "x:80"}, // bad version: left out
			{ID: "p1", Version: "v2", Addr: "dup:80"},  // a duplicate: left out
			{ID: "p4", Version: "v1", Addr: ""},        // no address: left out
		},
	}}
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRegistry("pay", reg))
	l.rev(t, "pay", revOf(t, a, "pay"))
	l.rev(t, "other", revOf(t, a, "other"))
	pickID := func(tenant, service string) string {
		t.Helper()
		inst, err := r.Pick(ctx, tenant, service)
		if err != nil {
			t.Fatalf("pick %s/%s: %v", tenant, service, err)
		}
		r.Done(inst, nil, time.Millisecond)
		if inst.Service != service {
			t.Fatalf("picked %+v for service %s", inst, service)
		}
		return inst.ID
	}
	for range 20 {
		if id := pickID("t", "pay"); id != "p1" {
			t.Fatalf("t on pay: %s, want p1 (from the registry)", id)
		}
		if id := pickID("acme", "pay"); id != "p2" {
			t.Fatalf("acme (pinned to v2 in Redis): %s, want p2", id)
		}
		if id := pickID("t", "other"); id != "o1" {
			t.Fatalf("other (no registry): %s, want o1 from Redis", id)
		}
	}

	// A change, announced: the Router reloads pay.
	count := func(what string) int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.count[what]
	}
	n := count("pay")
	reg.set("pay", []greyroute.Instance{{ID: "p9", Version: "v1", Addr: "10.0.0.9:80"}}, nil)
	l.until(t, "pay reloaded", func(_ map[string]int64, c map[string]int) bool { return c["pay"] > n })
	if id := pickID("t", "pay"); id != "p9" {
		t.Fatalf("after the registry changed: %s, want p9", id)
	}
	if _, err := r.Pick(ctx, "acme", "pay"); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("acme with no v2 in the registry: %v, want ErrNoInstance", err)
	}

	// The registry fails: the last table is kept.
	reg.set("pay", nil, errors.New("registry down"))
	l.until(t, "the failed load", func(_ map[string]int64, c map[string]int) bool { return c["registry"] > 0 })
	if id := pickID("t", "pay"); id != "p9" {
		t.Fatalf("registry down: %s, want p9 (the last table)", id)
	}

	// The Admin is the built-in Registry over Redis's instances.
	var builtin greyroute.Registry = a
	insts, err := builtin.Instances(ctx, "pay")
	must(t, err)
	if len(insts) != 1 || insts[0].ID != "redis-only" {
		t.Fatalf("Admin.Instances(pay) = %+v", insts)
	}

	for name, o := range map[string]greyroute.Option{
		"nil":      greyroute.WithRegistry("pay", nil),
		"bad name": greyroute.WithRegistry("{x}", reg),
	} {
		if _, err := greyroute.NewRouter(standalone(t, srv.Addr, nil), o); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := greyroute.NewAdmin(standalone(t, srv.Addr, nil), greyroute.WithRegistry("", reg)); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("NewAdmin with WithRegistry: %v, want ErrInvalid", err)
	}
}
