package greyroute

import (
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// adminConfig is what AdminOptions set.
type adminConfig struct {
	prefix string
	clock  func() time.Time
	meter  metric.MeterProvider
}

func defaultAdminConfig() adminConfig {
	return adminConfig{prefix: DefaultPrefix, clock: time.Now, meter: otel.GetMeterProvider()}
}

// DefaultPrefix is the default prefix of every Redis key and channel of
// greyroute.
const DefaultPrefix = "greyroute:"

// AdminOption configures an Admin given to NewAdmin.
type AdminOption func(*adminConfig) error

// WithPrefix sets the prefix of the Redis keys and of the change channel,
// overriding the default DefaultPrefix. Routers reading the table must use
// the same prefix. It may be empty; it must not contain braces (they
// would move the keys' Cluster hash tag) or control characters, and is at
// most 128 bytes.
func WithPrefix(p string) AdminOption {
	return func(c *adminConfig) error {
		if len(p) > maxName || strings.ContainsAny(p, "{}") || strings.ContainsFunc(p, isControl) {
			return fmt.Errorf("%w: WithPrefix %q: want at most %d bytes, no braces, no control characters", ErrInvalid, p, maxName)
		}
		c.prefix = p
		return nil
	}
}

// WithClock sets the clock that stamps instance expiries, overriding the
// default time.Now. Scripts take the time from the caller, never from
// Redis, so a test can move time without sleeping. A nil clock is an error.
func WithClock(now func() time.Time) AdminOption {
	return func(c *adminConfig) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock: nil clock", ErrInvalid)
		}
		c.clock = now
		return nil
	}
}

// WithAdminMeterProvider sets where the Admin's metrics go, overriding
// the default, the global provider (a no-op until the application
// installs an SDK). A nil provider is an error.
func WithAdminMeterProvider(mp metric.MeterProvider) AdminOption {
	return func(c *adminConfig) error {
		if mp == nil {
			return fmt.Errorf("%w: WithAdminMeterProvider: nil provider", ErrInvalid)
		}
		c.meter = mp
		return nil
	}
}

func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }
