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

// NewLoopBackOff returns the waits of p with no bound on attempts or
// elapsed time, for background loops that retry until they are stopped.
func (p RetryPolicy) NewLoopBackOff() backoff.BackOff {
	p.MaxAttempts, p.MaxElapsedTime = -1, -1
	return p.NewBackOff()
}

// Do calls op until it succeeds, returns a permanent error (see
// Permanent), retryable reports false, ctx is done, or the policy's attempts
// or elapsed time run out. It returns op's last error, unwrapped from
// Permanent (when ctx ends a wait, that is op's last failure, which says
// more than the context error). A nil retryable retries every error.
//
// The waits come from backoff.ExponentialBackOff; the loop is written out
// rather than handed to backoff.Retry so that op does not escape to the
// heap: Do sits on every publish, and most calls succeed at once.
func (p RetryPolicy) Do(ctx context.Context, retryable func(error) bool, op func(context.Context) error) error {
	err := op(ctx)
	if err == nil {
		return nil
	}
	if !shouldRetry(err, retryable) {
		return unwrapPermanent(err)
	}
	p = p.WithDefaults()
	b := p.NewBackOff()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for attempt := 2; p.MaxAttempts < 0 || attempt <= p.MaxAttempts; attempt++ {
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			break
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return unwrapPermanent(err)
		case <-timer.C:
		}
		if err = op(ctx); err == nil {
			return nil
		}
		if !shouldRetry(err, retryable) {
			break
		}
	}
	return unwrapPermanent(err)
}

// Permanent marks err so that Do stops retrying at once and returns err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return backoff.Permanent(err)
}

func shouldRetry(err error, retryable func(error) bool) bool {
	if err == nil {
		return false
	}
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
	if err == nil {
		return nil
	}
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		return perm.Err
	}
	return err
}
