package session

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// config is what Options set. Each part of the package keeps its own
// settings in its own field (tokens.go, throttle.go, devices.go, csrf.go).
type config struct {
	cookieName  string
	secure      bool
	idle        time.Duration
	absolute    time.Duration
	publicPaths []string
	fallback    Store
	logger      *slog.Logger
	meter       metric.MeterProvider
	tracer      trace.TracerProvider
	now         func() time.Time
	core        coreConfig // options_core.go
	tokens      tokenConfig
	throttle    throttleConfig
	remember    rememberConfig
	csrf        csrfConfig
}

// Option configures a Manager; a bad one makes NewManager fail with an
// error naming it.
type Option func(*config) error

func (c *config) apply(opts []Option) error {
	for i, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: option %d is nil", ErrInvalid, i)
		}
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}
