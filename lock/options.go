package lock

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/metric"
)

// RetryStrategy says how Obtain waits between attempts on a held lock.
type RetryStrategy interface {
	// NewBackOff returns the waits for one Obtain; backoff.Stop ends it.
	NewBackOff() backoff.BackOff
}

type retryFunc func() backoff.BackOff

func (f retryFunc) NewBackOff() backoff.BackOff { return f() }

// NoRetry makes Obtain try once (the default).
func NoRetry() RetryStrategy {
	return retryFunc(func() backoff.BackOff { return &backoff.StopBackOff{} })
}

// LinearRetry retries every interval.
func LinearRetry(interval time.Duration) RetryStrategy {
	return retryFunc(func() backoff.BackOff { return backoff.NewConstantBackOff(interval) })
}

// ExponentialRetry retries after min, doubling up to max, with ±50%
// jitter so that contenders spread out.
func ExponentialRetry(min, max time.Duration) RetryStrategy {
	return retryFunc(func() backoff.BackOff {
		b := backoff.NewExponentialBackOff()
		b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = min, max, 0
		b.RandomizationFactor, b.Multiplier = 0.5, 2
		b.Reset()
		return b
	})
}

// config is what Options and ObtainOptions set.
type config struct {
	retry    RetryStrategy
	watchdog bool
	metadata string
	prefix   string
	meter    metric.MeterProvider
	bad      error // a Locker option that cannot be used, reported by New and NewRedlock
}

// Option sets a Locker's defaults; Setting values are also ObtainOptions.
type Option interface{ applyLocker(*config) }

// ObtainOption overrides a Locker's default for one Obtain.
type ObtainOption interface{ applyObtain(*config) }

// Setting is both an Option and an ObtainOption.
type Setting func(*config)

func (s Setting) applyLocker(c *config) { s(c) }
func (s Setting) applyObtain(c *config) { s(c) }

// WithRetry sets how Obtain retries a held lock, overriding the default
// NoRetry. Retrying stops when ctx ends or, when ctx has no deadline,
// after the lock's ttl.
func WithRetry(s RetryStrategy) Setting {
	return func(c *config) {
		if s != nil {
			c.retry = s
		}
	}
}

// WithWatchdog keeps the lock alive, overriding the default of letting it
// expire: it is refreshed to its ttl every ttl/3 until Release. If it
// cannot be refreshed before it would expire, Lock.Context is cancelled
// with a cause wrapping ErrLost that says why.
func WithWatchdog() Setting { return func(c *config) { c.watchdog = true } }

// WithMetadata stores s with the lock (for example the holder's host and
// PID), readable by anyone with Locker.Holder; default none.
func WithMetadata(s string) Setting { return func(c *config) { c.metadata = s } }

// WithKeyPrefix sets the prefix of the lock's Redis keys, overriding the
// default "lock:". Locker-wide only.
func WithKeyPrefix(p string) Option { return Setting(func(c *config) { c.prefix = p }) }

// WithMeterProvider sets where the Locker's metrics go, overriding the
// default, the global provider (a no-op until the application installs an
// SDK). Locker-wide only; the package doc lists the instruments.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return Setting(func(c *config) {
		if mp == nil {
			c.bad = fmt.Errorf("%w: WithMeterProvider: nil provider", ErrInvalid)
			return
		}
		c.meter = mp
	})
}
