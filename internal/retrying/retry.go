// Package retrying runs calls under a resilience.RetryPolicy: the waits
// come from github.com/cenkalti/backoff/v4, with the policy's defaults
// applied, so that every package retries the same way.
package retrying

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/groundwork-go/groundwork/resilience"
)

// WithDefaults returns p with every zero field set to the default its
// documentation names.
func WithDefaults(p resilience.RetryPolicy) resilience.RetryPolicy {
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

// NewBackOff returns a fresh sequence of p's waits (defaults applied),
// ending (backoff.Stop) at MaxElapsedTime. It does not bound attempts:
// callers that count attempts themselves use it for the waits alone.
func NewBackOff(p resilience.RetryPolicy) backoff.BackOff {
	p = WithDefaults(p)
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.Jitter),
		backoff.WithMaxElapsedTime(max(p.MaxElapsedTime, 0)),
	)
}

// NewLoopBackOff returns the waits of p with no bound on attempts or
// elapsed time, for background loops that retry until they are stopped.
func NewLoopBackOff(p resilience.RetryPolicy) backoff.BackOff {
	p.MaxAttempts, p.MaxElapsedTime = -1, -1
	return NewBackOff(p)
}

// Do calls op until it succeeds, returns a permanent error (see
// Permanent), retryable reports false, ctx is done, or p's attempts or
// elapsed time run out. It returns op's last error, unwrapped from
// Permanent. When ctx ends a wait, the error wraps both op's last failure,
// which says why it was retrying, and ctx's error, so that errors.Is tells
// the caller that it gave up itself. A nil retryable retries every error.
//
// The loop is written out rather than handed to backoff.Retry so that op
// does not escape to the heap: Do sits on every publish, and most calls
// succeed at once.
func Do(ctx context.Context, p resilience.RetryPolicy, retryable func(error) bool, op func(context.Context) error) error {
	err := op(ctx)
	if err == nil {
		return nil
	}
	if !shouldRetry(err, retryable) {
		return unwrapPermanent(err)
	}
	p = WithDefaults(p)
	b := NewBackOff(p)
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
			return fmt.Errorf("%w (%w before the next attempt)", err, ctx.Err())
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
