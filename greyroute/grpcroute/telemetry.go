package grpcroute

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/greyroute"
)

const instrumentationName = "github.com/groundwork-go/groundwork/greyroute/grpcroute"

// Pick outcomes, as the outcome attribute of greyroute.grpc.picks names
// them.
const (
	pickOK          = iota // sent on a ready connection
	pickConnecting         // the instance's connection was not ready yet: no verdict, picked again
	pickConnFailure        // the instance's connection was failing: a failure for it
	pickNoInstance         // greyroute.ErrNoInstance: wait-for-ready RPCs wait
	pickRefused            // no tenant, unknown tenant, schema, closed Router: the RPC ends
	numPickOutcomes
)

var pickOutcomeNames = [numPickOutcomes]string{"ok", "connecting", "conn_failure", "no_instance", "refused"}

// Option configures DialOptions.
type Option func(*options) error

type options struct{ meter metric.MeterProvider }

// WithMeterProvider sets where the client's metrics go, overriding the
// default, the global provider (a no-op until the application installs
// an SDK). A nil provider is an error, reported when the ClientConn
// first connects.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: grpcroute: WithMeterProvider: nil provider", greyroute.ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// telemetry counts one ClientConn's picks. Its atomics live as long as
// the ClientConn's DialOptions, so the totals never go back when grpc-go
// rebuilds the resolver (leaving idle); each resolver registers the
// collection callback while it runs.
type telemetry struct {
	picks [numPickOutcomes]atomic.Int64
}

func (t *telemetry) add(outcome int) {
	if t != nil {
		t.picks[outcome].Add(1)
	}
}

// register starts reporting t for service through mp; the registration
// is undone by the resolver's Close.
func (t *telemetry) register(mp metric.MeterProvider, service string) metric.Registration {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	picks, _ := meter.Int64ObservableCounter("greyroute.grpc.picks",
		metric.WithDescription("gRPC picks by service and outcome (ok, connecting, conn_failure, no_instance, refused)."))
	var opts [numPickOutcomes]metric.ObserveOption
	for i := range opts {
		opts[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("greyroute.service", service), attribute.String("outcome", pickOutcomeNames[i])))
	}
	reg, _ := meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for i := range opts {
			ob.ObserveInt64(picks, t.picks[i].Load(), opts[i])
		}
		return nil
	}, picks)
	return reg
}
