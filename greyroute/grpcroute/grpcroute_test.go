package grpcroute_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/grpcroute"
)

// TestTenantsLandOnTheirVersion: each tenant's RPCs land on its
// version's servers (pinned, stable, then a rollout); the tenant comes
// from the context or the metadata; routing errors end the RPC with
// Unavailable at once, naming the tenant; application errors do not count
// against an instance.
func TestTenantsLandOnTheirVersion(t *testing.T) {
	e := newEnv(t, 1, [][2]string{{"a1", "v1"}, {"a2", "v1"}, {"b1", "v2"}}, func(ctx context.Context, a *greyroute.Admin) {
		must(t, a.Pin(ctx, "acme", service, "v2"))
	})
	ctx := context.Background()

	if got := e.mustLand("acme", 10); got["b1"] != 10 {
		t.Fatalf("pinned tenant acme: %v, want all on b1 (v2)", got)
	}
	e.warm("globex", "a1", "a2")
	if got := e.mustLand("globex", 10); got["a1"] != 5 || got["a2"] != 5 {
		t.Fatalf("tenant globex on stable: %v, want 5 each on a1, a2 (round robin over v1)", got)
	}

	// The tenant in the outgoing metadata; the context's wins over it.
	md := metadata.AppendToOutgoingContext(ctx, grpcroute.TenantMetadataKey, "acme")
	if id, err := e.call(md, "", grpc.WaitForReady(true)); err != nil || id != "b1" {
		t.Fatalf("tenant acme from metadata: %q, %v; want b1", id, err)
	}
	if id, err := e.call(md, "globex", grpc.WaitForReady(true)); err != nil || (id != "a1" && id != "a2") {
		t.Fatalf("context globex over metadata acme: %q, %v; want a v1 instance", id, err)
	}

	// No tenant: ended at once, even a wait-for-ready call.
	_, err := e.call(ctx, "", grpc.WaitForReady(true))
	wantStatus(t, err, codes.Unavailable, "no tenant", grpcroute.TenantMetadataKey, service)

	// An application's error is the instance answering: with breakers
	// that open on one failure, none opens.
	_, err = e.client.Check(greyroute.WithTenant(ctx, "acme"), &healthpb.HealthCheckRequest{Service: "nope"})
	wantStatus(t, err, codes.NotFound)
	if got := e.mustLand("acme", 3); got["b1"] != 3 {
		t.Fatalf("after an application error: %v, want all on b1", got)
	}

	// A rollout of every tenant to v2 reaches the client.
	must(t, e.admin.SetRollout(ctx, service, greyroute.Rollout{To: "v2", Percent: 100}))
	e.until("globex on v2", func() bool { id, err := e.call(ctx, "globex"); return err == nil && id == "b1" })
	if got := e.mustLand("globex", 5); got["b1"] != 5 {
		t.Fatalf("after the rollout: %v, want all on b1", got)
	}
	// And back.
	must(t, e.admin.SetRollout(ctx, service, greyroute.Rollout{To: "v2", Percent: 0}))
	e.until("globex back on v1", func() bool { id, err := e.call(ctx, "globex"); return err == nil && id != "b1" })

	if ev := e.breakers.all(); len(ev) != 0 {
		t.Fatalf("breaker transitions %v, want none", ev)
	}
}

// TestRoutingErrors: a tenant with no route (a service with no stable
// version) ends even a wait-for-ready RPC with Unavailable naming it; a
// version with no instance fails a plain RPC with Unavailable and keeps a
// wait-for-ready one waiting until an instance registers.
func TestRoutingErrors(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}}, func(ctx context.Context, a *greyroute.Admin) {
		must(t, a.Pin(ctx, "acme", service, "v2")) // v2 has no instance
	})
	ctx := context.Background()
	_, err := e.call(ctx, "acme")
	wantStatus(t, err, codes.Unavailable, "no instance", `"acme"`, `"v2"`)

	ledger, err := grpcroute.NewClient(e.router, "ledger", grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer ledger.Close()
	_, err = healthpb.NewHealthClient(ledger).Check(greyroute.WithTenant(ctx, "acme"), &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	wantStatus(t, err, codes.Unavailable, "unknown tenant", `"acme"`, `"ledger"`)

	// A wait-for-ready RPC of acme waits for a v2 instance.
	done := make(chan error, 1)
	var id string
	go func() {
		var err error
		id, err = e.call(ctx, "acme", grpc.WaitForReady(true))
		done <- err
	}()
	e.start("b1", "v2")
	if err := <-done; err != nil || id != "b1" {
		t.Fatalf("waiting RPC: %q, %v; want b1", id, err)
	}
}

// TestStoppedInstance: a server stopped mid-test has its instance's
// breaker opened by the picks that find its connection failing, and its
// version's RPCs go to the other instance, all succeeding.
func TestStoppedInstance(t *testing.T) {
	e := newEnv(t, 2, [][2]string{{"a1", "v1"}, {"a2", "v1"}}, nil)
	ctx := context.Background()
	e.warm("globex", "a1", "a2")
	if got := e.mustLand("globex", 4); got["a1"] != 2 || got["a2"] != 2 {
		t.Fatalf("before: %v, want 2 each", got)
	}
	e.backends["a1"].srv.Stop()
	opened := false
	deadline := time.Now().Add(patience)
	for !opened {
		if time.Now().After(deadline) {
			t.Fatalf("a1's breaker did not open; transitions %v", e.breakers.all())
		}
		if _, err := e.call(ctx, "globex"); err != nil && status.Code(err) != codes.Unavailable {
			t.Fatalf("call while a1 is down: %v", err)
		}
		select {
		case ev := <-e.breakers.ch:
			if ev != service+"/a1 open" {
				t.Fatalf("breaker event %q, want %s/a1 open", ev, service)
			}
			opened = true
		default:
		}
	}
	if got := e.mustLand("globex", 10); got["a2"] != 10 {
		t.Fatalf("after a1's breaker opened: %v, want all on a2", got)
	}
}

// TestCancelledCallsAreNoFailure: RPCs the client cancels, with breakers
// that open on one failure, leave the instance's breaker closed.
func TestCancelledCallsAreNoFailure(t *testing.T) {
	e := newEnv(t, 1, [][2]string{{"a1", "v1"}}, nil)
	e.mustLand("globex", 1)
	block := func(ctx context.Context) error {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-block", "1")
		_, err := e.call(ctx, "globex")
		return err
	}
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- block(ctx) }()
		select {
		case <-e.backends["a1"].arrived:
		case err := <-done:
			cancel()
			t.Fatalf("call %d ended before reaching a1: %v (breaker transitions %v)", i, err, e.breakers.all())
		}
		cancel()
		wantStatus(t, <-done, codes.Canceled)
	}
	if got := e.mustLand("globex", 3); got["a1"] != 3 {
		t.Fatalf("after cancellations: %v, want all on a1", got)
	}
	if ev := e.breakers.all(); len(ev) != 0 {
		t.Fatalf("breaker transitions %v after cancellations, want none", ev)
	}

}

// TestWaitForReadyOutlivesOpenBreaker: an RPC that fails with Internal
// opens the only instance's breaker; a wait-for-ready RPC made then
// waits until the breaker half-opens (with time: no event grpc-go sees,
// hence the balancer's repick) and is the probe that closes it.
func TestWaitForReadyOutlivesOpenBreaker(t *testing.T) {
	e := newEnvOpen(t, 1, 50*time.Millisecond, [][2]string{{"a1", "v1"}}, nil)
	ctx := context.Background()
	e.mustLand("globex", 1)
	_, err := e.call(metadata.AppendToOutgoingContext(ctx, "x-fail", "1"), "globex")
	wantStatus(t, err, codes.Internal)
	if ev := <-e.breakers.ch; ev != service+"/a1 open" {
		t.Fatalf("breaker event %q, want %s/a1 open", ev, service)
	}
	if id, err := e.call(ctx, "globex", grpc.WaitForReady(true)); err != nil || id != "a1" {
		t.Fatalf("wait-for-ready call: %q, %v; want a1", id, err)
	}
	if ev := e.breakers.all(); !slices.Equal(ev, []string{service + "/a1 open", service + "/a1 half-open", service + "/a1 closed"}) {
		t.Fatalf("breaker transitions %v, want open, half-open, closed", ev)
	}
}

// TestDeregisteredInstance: an instance deregistered from the table has
// its SubConn shut down (the server sees its connection end) and gets no
// more RPCs.
func TestDeregisteredInstance(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}, {"a2", "v1"}}, nil)
	e.warm("globex", "a1", "a2")
	if got := e.mustLand("globex", 4); got["a1"] != 2 || got["a2"] != 2 {
		t.Fatalf("before: %v, want 2 each", got)
	}
	e.backends["a1"].conns.await(t, 1)
	must(t, e.admin.Deregister(context.Background(), service, "a1"))
	e.backends["a1"].conns.await(t, 0)
	if got := e.mustLand("globex", 6); got["a2"] != 6 {
		t.Fatalf("after deregistering a1: %v, want all on a2", got)
	}
	if ids := instanceIDs(e.router.Instances(service)); !slices.Equal(ids, []string{"a2"}) {
		t.Fatalf("Instances: %v, want [a2]", ids)
	}
}

func instanceIDs(insts []greyroute.Instance) []string {
	var ids []string
	for _, in := range insts {
		ids = append(ids, in.ID)
	}
	return ids
}

// TestNewClientArguments: a nil Router or a bad service name is refused
// up front; DialOptions with a nil Router fails the RPC, naming it.
func TestNewClientArguments(t *testing.T) {
	for _, s := range []string{"", "a{b}", "a\nb", string(make([]byte, 129))} {
		if _, err := grpcroute.NewClient(&greyroute.Router{}, s); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("NewClient(service %q): %v, want ErrInvalid", s, err)
		}
	}
	if _, err := grpcroute.NewClient(nil, "billing"); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("NewClient(nil router): %v, want ErrInvalid", err)
	}
	cc, err := grpc.NewClient(grpcroute.Target("billing"), append(grpcroute.DialOptions(nil), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	must(t, err)
	defer cc.Close()
	_, err = healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err == nil || !strings.Contains(err.Error(), "nil Router") {
		t.Fatalf("RPC through DialOptions(nil): %v, want an error naming the nil Router", err)
	}
}
