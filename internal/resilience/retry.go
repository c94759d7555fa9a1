// Package resilience holds the retry and circuit-breaker policies the
// portable layers (mq, filestore, logship, ...) wrap around provider calls.
//
// Retries are github.com/cenkalti/backoff/v4 and the breaker is
// github.com/sony/gobreaker/v2; this package only gives them validated,
// documented policy structs with the defaults the suite wants, so that every
// package configures them the same way.
package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy describes exponential backoff with jitter. The zero value is
// usable: every zero field takes the default named in its comment.
type RetryPolicy struct {
	// InitialInterval is the first wait. Default 50ms.
	InitialInterval time.Duration
	// MaxInterval caps a single wait (before jitter). Default 5s.
	MaxInterval time.Duration
	// Multiplier grows the wait after each failure. Default 2.
	Multiplier float64
	// Jitter is the randomization factor in [0,1): each wait is drawn
	// from [wait*(1-Jitter), wait*(1+Jitter)]. Default 0.5; set
	// NoJitter to turn it off.
	Jitter float64
	// NoJitter turns jitter off (Jitter's zero value means "default").
	NoJitter bool
	// MaxAttempts bounds the number of calls, the first included.
	// Default 5; negative means no bound other than MaxElapsedTime.
	MaxAttempts int
	// MaxElapsedTime bounds the total time spent retrying. Default 30s;
	// negative means no bound other than MaxAttempts.
	MaxElapsedTime time.Duration
}

// Validate reports the first field that holds an impossible value.
func (p RetryPolicy) Validate() error {
	switch {
	case p.InitialInterval < 0:
		return fmt.Errorf("retry policy: InitialInterval %v is negative", p.InitialInterval)
	case p.MaxInterval < 0:
		return fmt.Errorf("retry policy: MaxInterval %v is negative", p.MaxInterval)
	case p.Multiplier != 0 && p.Multiplier < 1:
		return fmt.Errorf("retry policy: Multiplier %v is below 1", p.Multiplier)
	case p.Jitter < 0 || p.Jitter >= 1:
		return fmt.Errorf("retry policy: Jitter %v is outside [0,1)", p.Jitter)
	}
	return nil
}

// WithDefaults returns p with every zero field set to its default.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.InitialInterval == 0 {
		p.InitialInterval = 50 * time.Millisecond
	}
	if p.MaxInterval == 0 {
		p.MaxInterval = 5 * time.Second
	}
	if p.Multiplier == 0 {
		p.Multiplier = 2
	}
	if p.Jitter == 0 && !p.NoJitter {
		p.Jitter = 0.5
	}
	if p.NoJitter {
		p.Jitter = 0
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 5
	}
	if p.MaxElapsedTime == 0 {
		p.MaxElapsedTime = 30 * time.Second
	}
	return p
}

// NewBackOff returns a fresh backoff sequence for p (defaults applied). It
// does not bound attempts; callers that count attempts themselves use it
// for the waits alone.
func (p RetryPolicy) NewBackOff() backoff.BackOff {
	p = p.WithDefaults()
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.Jitter),
		backoff.WithMaxElapsedTime(max(p.MaxElapsedTime, 0)),
	)
	return b
}

// Do calls op until it succeeds, returns a permanent error (see
// Permanent), retryable reports false, ctx is done, or the policy's attempts
// or elapsed time run out. It returns op's last error, unwrapped from
// Permanent; when ctx ends the wait it returns op's last error if there was
// one, else ctx.Err(). A nil retryable retries every error.
func (p RetryPolicy) Do(ctx context.Context, retryable func(error) bool, op func(context.Context) error) error {
	// Fast path: most calls succeed at once, and building the backoff
	// state costs allocations on a hot path.
	err := op(ctx)
	if err == nil || !shouldRetry(err, retryable) {
		return unwrapPermanent(err)
	}
	p = p.WithDefaults()
	var b backoff.BackOff = p.NewBackOff()
	if p.MaxAttempts > 0 {
		if p.MaxAttempts == 1 {
			return unwrapPermanent(err)
		}
		b = backoff.WithMaxRetries(b, uint64(p.MaxAttempts-1))
	}
	b = backoff.WithContext(b, ctx)
	last, calls := err, 0
	rerr := backoff.Retry(func() error {
		// The first call was the fast path above: hand its error back
		// so that Retry waits before calling op again.
		if calls++; calls == 1 {
			return last
		}
		err := op(ctx)
		if err != nil {
			last = err
			if !shouldRetry(err, retryable) {
				return backoff.Permanent(err)
			}
		}
		return err
	}, b)
	if rerr != nil && ctx.Err() != nil && errors.Is(rerr, ctx.Err()) {
		// The wait was cut short: the caller learns more from the last
		// failure than from the context error.
		return unwrapPermanent(last)
	}
	return unwrapPermanent(rerr)
}

// Permanent marks err so that Do stops retrying at once and returns err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return backoff.Permanent(err)
}

func shouldRetry(err error, retryable func(error) bool) bool {
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retryable == nil || retryable(err)
}

func unwrapPermanent(err error) error {
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		return perm.Err
	}
	return err
}
