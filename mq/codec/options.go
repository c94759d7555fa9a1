package codec

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Registry.
type Option func(*options) error

type options struct {
	meter metric.MeterProvider
}

func defaultOptions() options {
	return options{meter: otel.GetMeterProvider()}
}

// WithMeterProvider sets where metrics go, overriding the default, the
// global provider (a no-op until the application installs an SDK).
func WithMeterProvider(p metric.MeterProvider) Option {
	return func(o *options) error {
		if p == nil {
			return fmt.Errorf("%w: WithMeterProvider(nil)", ErrInvalid)
		}
		o.meter = p
		return nil
	}
}
