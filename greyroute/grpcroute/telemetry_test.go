package grpcroute_test

import (
	"context"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/grpcroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
)

// TestPickMetrics checks with the real OpenTelemetry SDK that picks are
// counted by service and outcome, and that a closed ClientConn reports
// nothing more.
func TestPickMetrics(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}}, func(ctx context.Context, a *greyroute.Admin) {
		must(t, a.Pin(ctx, "acme", service, "v2")) // no instance
	})
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	cc, err := grpc.NewClient(grpcroute.Target(service), append(grpcroute.DialOptions(e.router, grpcroute.WithMeterProvider(mp)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	must(t, err)
	c := healthpb.NewHealthClient(cc)
	for range 3 {
		_, err := c.Check(greyroute.WithTenant(ctx, "globex"), &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		must(t, err)
	}
	_, err = c.Check(greyroute.WithTenant(ctx, "acme"), &healthpb.HealthCheckRequest{})
	wantStatus(t, err, codes.Unavailable, "no instance")
	_, err = c.Check(ctx, &healthpb.HealthCheckRequest{})
	wantStatus(t, err, codes.Unavailable, "no tenant")

	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		return p.Metric + "/" + p.Attr("greyroute.service") + "/" + p.Attr("outcome")
	})
	for k, v := range map[string]int64{
		"greyroute.grpc.picks/billing/ok":           3,
		"greyroute.grpc.picks/billing/no_instance":  1,
		"greyroute.grpc.picks/billing/refused":      1,
		"greyroute.grpc.picks/billing/conn_failure": 0,
	} {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	must(t, cc.Close())
	for _, p := range otelcheck.Points(t, reader) {
		if p.Metric == "greyroute.grpc.picks" {
			t.Fatalf("pick metrics still reported after the ClientConn closed: %+v", p)
		}
	}
}

// TestBadOptions: a nil Option or meter provider fails the RPCs of the
// ClientConn, naming it.
func TestBadOptions(t *testing.T) {
	e := newEnv(t, 5, [][2]string{{"a1", "v1"}}, nil)
	for name, opt := range map[string]grpcroute.Option{"option 0 is nil": nil, "WithMeterProvider: nil provider": grpcroute.WithMeterProvider(nil)} {
		cc, err := grpc.NewClient(grpcroute.Target(service), append(grpcroute.DialOptions(e.router, opt),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		must(t, err)
		_, err = healthpb.NewHealthClient(cc).Check(greyroute.WithTenant(context.Background(), "globex"), &healthpb.HealthCheckRequest{})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("RPC with a bad option: %v, want an error naming %q", err, name)
		}
		must(t, cc.Close())
	}
}
