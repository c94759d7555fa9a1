package greyroute

import (
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// config is what Options set, for an Admin or a Router.
type config struct {
	prefix string
	clock  func() time.Time
	meter  metric.MeterProvider

	router routerConfig // the Router's own options (router_options.go)
	// routerOnly names the Router-only options given, which NewAdmin
	// refuses rather than ignore.
	routerOnly []string
}

func defaultConfig() config {
	return config{prefix: DefaultPrefix, clock: time.Now, meter: otel.GetMeterProvider(), router: defaultRouterConfig()}
}

// DefaultPrefix is the default prefix of every Redis key and channel of
// greyroute.
const DefaultPrefix = "greyroute:"

// Option configures an Admin (NewAdmin) or a Router (NewRouter).
// WithPrefix, WithClock and WithMeterProvider apply to both; the
// Router's own options (WithBalancer, WithResync, ...) are refused by
// NewAdmin with an error wrapping ErrInvalid.
type Option func(*config) error

// AdminOption is the Option NewAdmin takes: the same type, kept as a name
// for the Admin's signature.
type AdminOption = Option

// WithPrefix sets the prefix of the Redis keys and of the change channel,
// overriding the default DefaultPrefix. Routers reading the table must use
// the same prefix as the Admins writing it. It may be empty; it must not contain braces (they
// would move the keys' Cluster hash tag) or control characters, and is at
// most 128 bytes.
func WithPrefix(p string) Option {
	return func(c *config) error {
		if len(p) > maxName || strings.ContainsAny(p, "{}") || strings.ContainsFunc(p, isControl) {
			return fmt.Errorf("%w: WithPrefix %q: want at most %d bytes, no braces, no control characters", ErrInvalid, p, maxName)
		}
		c.prefix = p
		return nil
	}
}

// WithClock sets the clock that stamps instance expiries (Admin) or
// judges them (Router), overriding the default time.Now. Scripts take the
// time from the caller, never from Redis, so a test can move time without
// sleeping. A nil clock is an error.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock: nil clock", ErrInvalid)
		}
		c.clock = now
		return nil
	}
}

// WithAdminMeterProvider sets where the Admin's metrics go, overriding
// the default, the global provider (a no-op until the application
// installs an SDK). A nil provider is an error. It is WithMeterProvider
// under its earlier name.
func WithAdminMeterProvider(mp metric.MeterProvider) AdminOption {
	return withMeter("WithAdminMeterProvider", mp)
}

// WithMeterProvider sets where an Admin's or a Router's metrics go,
// overriding the default, the global provider (a no-op until the
// application installs an SDK). A nil provider is an error.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return withMeter("WithMeterProvider", mp)
}

func withMeter(name string, mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return fmt.Errorf("%w: %s: nil provider", ErrInvalid, name)
		}
		c.meter = mp
		return nil
	}
}

func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }
