package eventstore

import (
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/mq/codec"
)

// Option configures New.
type Option func(*options) error

type options struct {
	topic  string
	codec  *codec.Registry
	logger *slog.Logger
	meter  metric.MeterProvider
}

// DefaultTopic is the topic events are published to unless WithTopic.
const DefaultTopic = "domain-events"

func newOptions(opts []Option) (options, error) {
	o := options{topic: DefaultTopic, logger: slog.Default(), meter: otel.GetMeterProvider()}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", ErrInvalid)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithTopic sets the topic events are published to, overriding the
// default "domain-events".
func WithTopic(topic string) Option {
	return func(o *options) error {
		if err := checkName("WithTopic: topic", topic); err != nil {
			return err
		}
		o.topic = topic
		return nil
	}
}

// WithCodec sets the registry of event types, overriding the default of
// none. Append stamps the events of a registered type with the codec
// headers at its current schema version (their Data must be that shape,
// as Registry.Encode makes it); Load returns the Data of older versions
// upcast to the current one. Events of other types pass as they are.
func WithCodec(r *codec.Registry) Option {
	return func(o *options) error {
		if r == nil {
			return fmt.Errorf("%w: WithCodec: nil registry", ErrInvalid)
		}
		if err := r.Seal(); err != nil {
			return fmt.Errorf("%w: WithCodec: %v", ErrInvalid, err)
		}
		o.codec = r
		return nil
	}
}

// WithLogger sets the logger for relay failures, overriding the default
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithMeterProvider sets where metrics go, overriding the default
// otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: WithMeterProvider: nil provider", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}
