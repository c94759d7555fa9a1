package grpcroute_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/grpcroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestReviewReRegisteredAddress: an instance re-registered at another
// address has its SubConn follow it: RPCs land on the new server, and the
// old server's connection ends.
func TestReviewReRegisteredAddress(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}}, nil)
	e.warm("globex", "a1")
	old := e.backends["a1"]
	old.conns.await(t, 1)
	moved := startBackend(t, "a1-moved", "v1")
	must(t, e.admin.Register(context.Background(), greyroute.Instance{ID: "a1", Service: service, Version: "v1", Addr: moved.addr}, time.Hour))
	old.conns.await(t, 0)
	if got := e.mustLand("globex", 4); got["a1-moved"] != 4 {
		t.Fatalf("after a1 moved: %v, want all on the new address", got)
	}
}

// TestReviewRouterClosedMidRPC: the Router closed while an RPC is in
// flight: that RPC ends as the server answers (its Done after Close does
// no harm), later RPCs fail Unavailable naming the closed Router, and
// nothing leaks once the ClientConn closes.
func TestReviewRouterClosedMidRPC(t *testing.T) {
	e := newEnv(t, 1, [][2]string{{"a1", "v1"}}, nil)
	e.mustLand("globex", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := e.call(metadata.AppendToOutgoingContext(ctx, "x-block", "1"), "globex")
		done <- err
	}()
	<-e.backends["a1"].arrived
	must(t, e.router.Close())
	cancel()
	wantStatus(t, <-done, codes.Canceled)
	_, err := e.call(context.Background(), "globex")
	wantStatus(t, err, codes.Unavailable, "closed")
}

// TestReviewTwoRouters: the one global balancer registration serves two
// Routers at once, each ClientConn asking its own (the same service name
// routed by two tables).
func TestReviewTwoRouters(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}}, nil)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	a, err := greyroute.NewAdmin(rdb)
	must(t, err)
	t.Cleanup(func() { a.Close() })
	other := startBackend(t, "b1", "v9")
	must(t, a.Register(ctx, greyroute.Instance{ID: "b1", Service: service, Version: "v9", Addr: other.addr}, time.Hour))
	must(t, a.SetStable(ctx, service, "v9"))
	r2, err := greyroute.NewRouter(rdb)
	must(t, err)
	t.Cleanup(func() { r2.Close() })
	cc2, err := grpcroute.NewClient(r2, service, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	t.Cleanup(func() { cc2.Close() })
	c2 := healthpb.NewHealthClient(cc2)
	for range 5 {
		var hdr metadata.MD
		cctx, cancel := context.WithTimeout(greyroute.WithTenant(ctx, "globex"), patience)
		_, err := c2.Check(cctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true), grpc.Header(&hdr))
		cancel()
		must(t, err)
		if v := hdr.Get("x-instance"); len(v) == 0 || v[0] != "b1" {
			t.Fatalf("second Router's client reached %v, want b1", v)
		}
		if got := e.mustLand("globex", 1); got["a1"] != 1 {
			t.Fatalf("first Router's client reached %v, want a1", got)
		}
	}
}

// TestReviewOddTenants: a tenant of odd bytes — in the context (any
// string) or in the metadata (printable ASCII is all grpc-go sends) —
// is routed like any other, to the stable version.
func TestReviewOddTenants(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}}, nil)
	for _, tenant := range []string{"\x00\xff{}\n", "ü", strings.Repeat("t", 4096)} {
		if got := e.mustLand(tenant, 1); got["a1"] != 1 {
			t.Fatalf("tenant %q: %v", tenant, got)
		}
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), grpcroute.TenantMetadataKey, "{odd} ~")
	if id, err := e.call(ctx, "", grpc.WaitForReady(true)); err != nil || id != "a1" {
		t.Fatalf("metadata tenant: %q, %v", id, err)
	}
}
