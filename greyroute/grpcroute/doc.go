// Package grpcroute routes a grpc-go client's RPCs by tenant with a
// greyroute.Router: each RPC goes to an instance of the version the
// Router resolves for the tenant in the RPC's context (pin, rollout or
// stable, gated by schema), chosen by the service's greyroute Balancer,
// and its result feeds that instance's breaker, latency average and
// health through Router.Done.
//
//	conn, err := grpcroute.NewClient(router, "billing",
//		grpc.WithTransportCredentials(insecure.NewCredentials()))
//	...
//	ctx = greyroute.WithTenant(ctx, "acme") // or metadata "x-tenant: acme"
//	resp, err := pb.NewBillingClient(conn).Charge(ctx, req)
//
// # How it works
//
// DialOptions gives the ClientConn a resolver for targets
// "greyroute:///<service>" (Target) — with grpc.WithResolvers, so no
// global registry is touched — and selects the load-balancing policy
// BalancerName, registered once by this package's init. The resolver
// reports every live instance of the service, all versions, from
// Router.Instances, and again after every table the Router installs
// (Router.Watch); the policy keeps one SubConn per instance, connected
// eagerly since any tenant may be sent to any of them, and removes the
// SubConn of an instance gone from the table (deregistered, expired). Its
// picker calls Router.Pick for the RPC's tenant and sends the RPC on that
// instance's SubConn. Nothing is read from Redis on an RPC's path —
// unless the Router is in Atomic mode (greyroute.WithAtomic), whose every
// Pick is a round trip to Redis, made here on the RPC's goroutine with
// the RPC's context.
//
// The tenant is greyroute.TenantFromContext's, else the first value of
// the outgoing metadata key "x-tenant" (TenantMetadataKey).
//
// # Guarantees
//
// An RPC never goes to a version other than the tenant's (or the
// service's fallback version, as Router.Pick decides). What a pick does:
//
//   - Ready connection to the picked instance: the RPC goes there.
//   - Connection being made (or the instance not yet reported by the
//     resolver): the pick is handed back to the Router without a verdict
//     and grpc-go waits for the next picker (balancer.ErrNoSubConnAvailable),
//     which comes when a connection changes state.
//   - Connection failing (TRANSIENT_FAILURE): a failure for the instance
//     (latency 1s), and the Router is asked again, up to 4 picks per RPC;
//     so a dead instance's breaker opens and its version's other
//     instances take its RPCs.
//   - No tenant in the context or metadata, greyroute.ErrUnknownTenant,
//     greyroute.ErrSchema, greyroute.ErrClosed, or any other error of
//     Router.Pick (in Atomic mode, greyroute.ErrUnavailable): the RPC ends
//     at once with codes.Unavailable (wait-for-ready or not), the message
//     naming the method, service, tenant and cause. (A picker may not
//     return FailedPrecondition: gRFC A54 turns it into Internal.)
//   - greyroute.ErrNoInstance, or every try met a failing connection: a
//     wait-for-ready RPC waits for the next picker — one comes within 1s,
//     since breakers half-open with time, not with an event; any other RPC
//     ends with codes.Unavailable and the Router's message.
//
// How an RPC's end counts for its instance (Router.Done):
//
//	success   OK, InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
//	          Unauthenticated, FailedPrecondition, Aborted, OutOfRange,
//	          Unimplemented — the instance answered
//	neither   Canceled (the client gave up); a pick grpc-go gave back
//	          because its connection stopped being ready before use
//	failure   DeadlineExceeded (too slow), Unavailable, Internal, Unknown,
//	          ResourceExhausted, DataLoss, any error that is not a status
//
// A wait-for-ready RPC never ends by itself: bound it with a deadline.
//
// Freshness is the Router's (see greyroute's # Router): a rollout, pin or
// instance change reaches the client with the Router's next load of the
// service. Once the Router is closed, RPCs end with Unavailable; close the
// ClientConn too: once both are closed no goroutine of theirs is left.
//
// # Errors
//
// NewClient returns an error wrapping greyroute.ErrInvalid for a nil
// Router or a malformed service name (greyroute's rules for names), and
// grpc.NewClient's errors wrapped. DialOptions returns no error: its bad
// arguments (a nil Router, a nil or bad Option, which wrap
// greyroute.ErrInvalid) fail the ClientConn's RPCs, naming them. An RPC's
// errors are gRPC statuses, as listed under # Guarantees; its message
// names the method, service and tenant and gives the Router's cause.
//
// # Metrics
//
// greyroute.grpc.picks (counter): the picker's picks by greyroute.service
// and outcome — ok (sent), connecting (the instance's connection was not
// ready: picked again), conn_failure (its connection was failing: a
// failure for it), no_instance, refused (no tenant, unknown tenant,
// schema, closed Router, any other Router error). The meter provider is WithMeterProvider's
// (DialOptions), else the global one. The Router's own metrics
// (greyroute.picks, ...) count the same RPCs from its side.
package grpcroute
