package greyroute_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestRouterInstancesAndWatch: Instances lists every live instance of a
// service, all versions, sorted by ID, as of the Router's last load;
// Watch tells of each installed table without ever blocking the Router
// (an unread watcher does not stall loads); stop ends the watch and is
// idempotent.
func TestRouterInstancesAndWatch(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "billing", "v2", "b1")
	register(t, a, "billing", "v1", "a2", "a1")
	r, l := newRouter(t, standalone(t, srv.Addr, nil))

	ids := func(service string) []string {
		var out []string
		for _, in := range r.Instances(service) {
			out = append(out, in.ID+"@"+in.Version+"="+in.Addr)
		}
		return out
	}
	if got, want := ids("billing"), []string{"a1@v1=a1:80", "a2@v1=a2:80", "b1@v2=b1:80"}; !slices.Equal(got, want) {
		t.Fatalf("Instances = %v, want %v", got, want)
	}
	if got := r.Instances("nope"); len(got) != 0 {
		t.Fatalf("Instances of an unknown service = %v, want none", got)
	}

	changed, stop := r.Watch("billing")
	_, stopIdle := r.Watch("billing") // never read: must not hold the Router up
	defer stopIdle()
	must(t, a.Deregister(ctx, "billing", "a2"))
	l.rev(t, "billing", revOf(t, a, "billing"))
	select {
	case <-changed:
	case <-time.After(patience):
		t.Fatal("no change announced after a deregistration")
	}
	if got, want := ids("billing"), []string{"a1@v1=a1:80", "b1@v2=b1:80"}; !slices.Equal(got, want) {
		t.Fatalf("Instances after deregistering a2 = %v, want %v", got, want)
	}
	// Two more changes with nobody reading: both watchers' buffers hold
	// one value, and the Router goes on loading.
	register(t, a, "billing", "v1", "a3")
	l.rev(t, "billing", revOf(t, a, "billing"))
	must(t, a.Deregister(ctx, "billing", "a3"))
	l.rev(t, "billing", revOf(t, a, "billing"))
	<-changed
	stop()
	stop()
	register(t, a, "billing", "v1", "a4")
	l.rev(t, "billing", revOf(t, a, "billing"))
	select {
	case <-changed:
		t.Fatal("a stopped watch was told of a change")
	default:
	}
	if got := ids("billing"); !slices.Contains(got, "a4@v1=a4:80") {
		t.Fatalf("Instances after registering a4 = %v", got)
	}
}
