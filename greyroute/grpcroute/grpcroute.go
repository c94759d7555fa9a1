package grpcroute

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"

	"github.com/groundwork-go/groundwork/greyroute"
)

// Scheme is the scheme of the targets this package resolves:
// "greyroute:///<service>" (see Target).
const Scheme = "greyroute"

// BalancerName is the name of the load-balancing policy this package
// registers with grpc-go (in its init, the one global registration: the
// policy finds its Router in the resolver's state, so it serves every
// Router). DialOptions selects it through the default service config.
const BalancerName = "groundwork_greyroute"

// TenantMetadataKey is the outgoing metadata key the picker reads the
// tenant from when the RPC's context has none from greyroute.WithTenant.
const TenantMetadataKey = "x-tenant"

func init() { balancer.Register(builder{}) }

// serviceConfig selects the policy; the resolver gives no service config
// of its own, so this default is the one in force.
var serviceConfig = fmt.Sprintf(`{"loadBalancingConfig":[{%q:{}}]}`, BalancerName)

// Target returns the dial target of service: "greyroute:///" + service,
// the name path-escaped so that any name survives the URL parse.
func Target(service string) string { return Scheme + ":///" + url.PathEscape(service) }

// DialOptions returns the options that make a grpc.ClientConn dialled to
// Target(service) route its RPCs through r: a resolver for the scheme
// "greyroute" that reports the service's live instances from r (given to
// this ClientConn only, with grpc.WithResolvers — no global registry is
// touched) and the default service config selecting BalancerName. A
// service config that names another policy turns tenant routing off. A
// nil r makes the resolver fail when the ClientConn first connects;
// NewClient checks it up front; so is a bad Option. Metrics: the
// counter greyroute.grpc.picks, by greyroute.service and outcome (ok,
// connecting, conn_failure, no_instance, refused).
func DialOptions(r *greyroute.Router, opts ...Option) []grpc.DialOption {
	b := &resolverBuilder{router: r, tel: &telemetry{}}
	for i, o := range opts {
		if o == nil {
			b.err = fmt.Errorf("%w: grpcroute: DialOptions: option %d is nil", greyroute.ErrInvalid, i)
			break
		}
		if err := o(&b.opts); err != nil {
			b.err = err
			break
		}
	}
	return []grpc.DialOption{
		grpc.WithResolvers(b),
		grpc.WithDefaultServiceConfig(serviceConfig),
	}
}

// NewClient returns a grpc.ClientConn for service that sends each RPC to
// the instance r picks for the RPC's tenant: grpc.NewClient of
// Target(service) with opts and then DialOptions(r) (so a default service
// config in opts does not displace the policy). Like grpc.NewClient it
// does no I/O; connections are made when the first RPC needs them. Its
// metrics go to the global meter provider (DialOptions takes another). A nil
// r or a malformed service name is an error wrapping
// greyroute.ErrInvalid.
func NewClient(r *greyroute.Router, service string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: grpcroute: NewClient(%q): nil Router", greyroute.ErrInvalid, service)
	}
	if err := checkService(service); err != nil {
		return nil, fmt.Errorf("grpcroute: NewClient: %w", err)
	}
	cc, err := grpc.NewClient(Target(service), append(opts, DialOptions(r)...)...)
	if err != nil {
		return nil, fmt.Errorf("grpcroute: new client for service %q: %w", service, err)
	}
	return cc, nil
}

// checkService applies the rule of greyroute's names (1–128 bytes of
// UTF-8, no control character, no brace), so a typo is told at once
// rather than seen as a service with no instances.
func checkService(service string) error {
	bad := ""
	switch {
	case service == "":
		bad = "is empty"
	case len(service) > 128:
		bad = "is longer than 128 bytes"
	case !utf8.ValidString(service):
		bad = "is not valid UTF-8"
	case strings.ContainsAny(service, "{}"):
		bad = "contains a brace"
	case strings.ContainsFunc(service, unicode.IsControl):
		bad = "contains a control character"
	default:
		return nil
	}
	return fmt.Errorf("%w: service name %q %s", greyroute.ErrInvalid, service, bad)
}
