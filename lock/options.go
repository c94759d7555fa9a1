package lock

import (
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/metric"
)

// RetryStrategy says how Obtain waits between attempts on a held lock.
type RetryStrategy interface {
	// NewBackOff returns the waits for one Obtain; backoff.Stop ends it.
	// A nil BackOff is an error (ErrInvalid) from Obtain.
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

// config is what Options set: a Locker's defaults, copied and
// overridden by one Obtain or Do.
type config struct {
	retry    RetryStrategy
	watchdog bool
	metadata string
	prefix   string
	meter    metric.MeterProvider
	perCall  bool // the options are Obtain's or Do's, not New's
}

// Option configures a Locker when given to New or NewRedlock, and
// overrides the Locker's setting for one lock when given to Obtain or Do.
// Options that only make sense Locker-wide (WithKeyPrefix,
// WithMeterProvider) are an error, naming the option, in Obtain and Do.
type Option func(*config) error

// apply applies opts to c in order and returns the first error.
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

// lockerOnly is the error of a Locker-wide option given to Obtain or Do.
func lockerOnly(name string) error {
	return fmt.Errorf("%w: %s configures a Locker: give it to New or NewRedlock, not to Obtain or Do", ErrInvalid, name)
}

// WithRetry sets how Obtain retries a held lock, overriding the default
// NoRetry. Retrying stops when ctx ends or, when ctx has no deadline,
// after the lock's ttl. A nil strategy is an error.
func WithRetry(s RetryStrategy) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: WithRetry: nil RetryStrategy (NoRetry() tries once)", ErrInvalid)
		}
		c.retry = s
		return nil
	}
}

// WithWatchdog keeps the lock alive, overriding the default of letting it
// expire at its ttl: it is refreshed to its ttl every ttl/3 until Release.
// If it cannot be refreshed before it would expire, Lock.Context is
// cancelled with a cause wrapping ErrLost that says why. Do always uses a
// watchdog.
func WithWatchdog() Option {
	return func(c *config) error {
		c.watchdog = true
		return nil
	}
}

// WithMetadata stores s with the lock (for example the holder's host and
// PID), readable by anyone with Locker.Holder, overriding the default of
// none. s must not contain a NUL byte.
func WithMetadata(s string) Option {
	return func(c *config) error {
		if strings.Contains(s, "\x00") {
			return fmt.Errorf("%w: WithMetadata: contains a NUL byte", ErrInvalid)
		}
		c.metadata = s
		return nil
	}
}

// WithKeyPrefix sets the prefix of the lock's Redis keys, overriding the
// default "lock:". Locker-wide only: an error in Obtain and Do.
func WithKeyPrefix(p string) Option {
	return func(c *config) error {
		if c.perCall {
			return lockerOnly("WithKeyPrefix")
		}
		c.prefix = p
		return nil
	}
}

// WithMeterProvider sets where the Locker's metrics go, overriding the
// default, the global provider (a no-op until the application installs an
// SDK). A nil provider is an error. Locker-wide only: an error in Obtain
// and Do. The package doc lists the instruments.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		switch {
		case c.perCall:
			return lockerOnly("WithMeterProvider")
		case mp == nil:
			return fmt.Errorf("%w: WithMeterProvider: nil provider", ErrInvalid)
		}
		c.meter = mp
		return nil
	}
}
