package grpcroute_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/grpcroute"
)

// serve starts a gRPC server on loopback for one version of a service;
// it names its version in every response's header.
func serve(version string) (addr string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-version", version))
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), srv.Stop
}

// Example routes a gRPC client's calls by tenant: acme is pinned to v2,
// every other tenant gets the stable v1. It runs on an embedded Redis
// and two gRPC servers on loopback.
func Example() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	v1, stop1 := serve("v1")
	defer stop1()
	v2, stop2 := serve("v2")
	defer stop2()
	admin, err := greyroute.NewAdmin(rdb)
	if err != nil {
		panic(err)
	}
	defer admin.Close()
	_ = admin.Register(ctx, greyroute.Instance{ID: "ledger-1", Service: "ledger", Version: "v1", Addr: v1}, time.Minute)
	_ = admin.Register(ctx, greyroute.Instance{ID: "ledger-2", Service: "ledger", Version: "v2", Addr: v2}, time.Minute)
	_ = admin.SetStable(ctx, "ledger", "v1")
	_ = admin.Pin(ctx, "acme", "ledger", "v2")

	router, err := greyroute.NewRouter(rdb)
	if err != nil {
		panic(err)
	}
	defer router.Close()
	conn, err := grpcroute.NewClient(router, "ledger", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	for _, tenant := range []string{"acme", "globex", "initech"} {
		var hdr metadata.MD
		_, err := client.Check(greyroute.WithTenant(ctx, tenant), &healthpb.HealthCheckRequest{},
			grpc.WaitForReady(true), grpc.Header(&hdr))
		if err != nil {
			fmt.Println(tenant, err)
			continue
		}
		fmt.Println(tenant, "→", hdr.Get("x-version")[0])
	}
	// Without a tenant the call is refused.
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(err != nil)
	// Output:
	// acme → v2
	// globex → v1
	// initech → v1
	// true
}
