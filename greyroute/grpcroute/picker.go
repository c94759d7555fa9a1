package grpcroute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/groundwork-go/groundwork/greyroute"
)

// maxTries bounds the Router picks one RPC's pick makes when the chosen
// instance's connection is not ready.
const maxTries = 4

// connFailLatency is the latency a pick that found its instance's
// connection failing reports to the Router with the failure: a
// connection that cannot be made costs the caller like a slow call, and a
// zero would make P2C's latency average favour the failing instance.
const connFailLatency = time.Second

// picker is an immutable snapshot of the balancer's connections; Pick
// asks the Router for the RPC's tenant and maps the instance it returns
// to its connection.
type picker struct {
	router   *greyroute.Router // nil until the resolver gave one
	service  string
	resolved error           // why router is nil
	conns    map[string]conn // instance ID → its connection's state at publication
	repick   func()
	tel      *telemetry // nil-safe
}

// Pick implements balancer.Picker. See the package doc for what each
// outcome does to the RPC.
func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	if p.router == nil {
		if p.resolved != nil {
			return balancer.PickResult{}, p.resolved // a plain error: wait-for-ready RPCs wait for a resolver update
		}
		return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
	}
	tenant, err := tenantOf(info.Ctx)
	if err != nil {
		p.tel.add(pickRefused)
		return balancer.PickResult{}, status.Errorf(codes.Unavailable, "grpcroute: call %s of service %q: %v", info.FullMethodName, p.service, err)
	}
	waiting := false // some pick met a connection still being made
	var last error
	for range maxTries {
		inst, err := p.router.Pick(info.Ctx, tenant, p.service)
		if err != nil {
			return balancer.PickResult{}, p.pickError(info, tenant, err, waiting)
		}
		c, ok := p.conns[inst.ID]
		if ok && c.addr == inst.Addr && c.state == connectivity.Ready {
			p.tel.add(pickOK)
			start := time.Now()
			return balancer.PickResult{SubConn: c.sc, Done: func(d balancer.DoneInfo) {
				p.router.Done(inst, outcome(d), time.Since(start))
			}}, nil
		}
		if ok && c.state == connectivity.TransientFailure {
			// The instance cannot be reached: a failure, so that its
			// breaker opens and picks go to the version's others.
			last = fmt.Errorf("grpcroute: call %s of service %q for tenant %q: instance %q (%s, version %s) unreachable: %v",
				info.FullMethodName, p.service, tenant, inst.ID, inst.Addr, inst.Version, c.err)
			p.router.Done(inst, last, connFailLatency)
			p.tel.add(pickConnFailure)
			continue
		}
		// Not connected yet (or not yet known to this balancer: the
		// resolver's update follows the Router's table): no verdict on
		// the instance, and grpc-go calls Pick again on the next picker.
		p.router.Done(inst, context.Canceled, 0)
		p.tel.add(pickConnecting)
		waiting = true
	}
	if waiting {
		return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
	}
	return balancer.PickResult{}, last // plain: wait-for-ready RPCs wait, others end Unavailable
}

// pickError turns a Router.Pick error into the RPC's. No instance
// available is a plain error — grpc-go fails the RPC with Unavailable
// unless it waits for ready, and then it waits for the next picker, one
// of which comes repickDelay later for breakers that half-open. A routing
// error (unknown tenant, schema too old) or a closed Router will not mend
// by waiting: a status error, Unavailable (a picker may not return
// FailedPrecondition: gRFC A54), ends the RPC at once.
func (p *picker) pickError(info balancer.PickInfo, tenant string, err error, waiting bool) error {
	if errors.Is(err, greyroute.ErrNoInstance) {
		p.tel.add(pickNoInstance)
		if waiting {
			return balancer.ErrNoSubConnAvailable
		}
		p.repick()
		return fmt.Errorf("grpcroute: call %s: %w", info.FullMethodName, err)
	}
	p.tel.add(pickRefused)
	return status.Errorf(codes.Unavailable, "grpcroute: call %s of service %q for tenant %q: %v", info.FullMethodName, p.service, tenant, err)
}

// tenantOf returns the RPC's tenant: greyroute.WithTenant's, else the
// first value of the outgoing metadata key TenantMetadataKey.
func tenantOf(ctx context.Context) (string, error) {
	if t, ok := greyroute.TenantFromContext(ctx); ok && t != "" {
		return t, nil
	}
	if vs := metadata.ValueFromOutgoingContext(ctx, TenantMetadataKey); len(vs) > 0 && vs[0] != "" {
		return vs[0], nil
	}
	return "", fmt.Errorf("%w in the context: set one with greyroute.WithTenant or the outgoing metadata %q", errNoTenant, TenantMetadataKey)
}

// outcome maps an RPC's end to what Router.Done counts for the instance:
//
//   - OK, and the codes of an application's answer (InvalidArgument,
//     NotFound, AlreadyExists, PermissionDenied, Unauthenticated,
//     FailedPrecondition, Aborted, OutOfRange, Unimplemented): a success —
//     the instance answered.
//   - Canceled: neither (context.Canceled) — the client gave up.
//   - DeadlineExceeded: a failure (context.DeadlineExceeded) — the
//     instance was too slow.
//   - Unavailable, Internal, Unknown, ResourceExhausted, DataLoss, and any
//     error that is not a status: a failure.
//
// An RPC that ended without an error and without sending anything is
// grpc-go telling of a pick whose connection stopped being ready before
// use: not a call, so neither.
func outcome(d balancer.DoneInfo) error {
	if d.Err == nil {
		if !d.BytesSent {
			return context.Canceled
		}
		return nil
	}
	switch {
	case errors.Is(d.Err, context.Canceled):
		return context.Canceled
	case errors.Is(d.Err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	switch status.Code(d.Err) {
	case codes.OK, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.Unauthenticated, codes.FailedPrecondition, codes.Aborted, codes.OutOfRange, codes.Unimplemented:
		return nil
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return d.Err
}
