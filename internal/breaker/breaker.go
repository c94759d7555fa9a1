// Package breaker is the circuit breaker Groundwork's packages put around
// a broker or a backend, configured by a resilience.BreakerPolicy and
// built on github.com/sony/gobreaker/v2.
package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/groundwork-go/groundwork/resilience"
)

// ErrOpen is returned by Breaker.Do while the breaker is open, or half-open
// with all its probe slots taken. Packages map it to their own sentinel
// (mq.ErrCircuitOpen, filestore.ErrBackendDown).
var ErrOpen = errors.New("circuit breaker open")

// Breaker is a circuit breaker. Failures are the errors that the isFailure
// function given to New reports; context errors are never counted.
type Breaker struct {
	cb       *gobreaker.CircuitBreaker[struct{}]
	disabled bool
}

// New builds a breaker named name. isFailure decides which errors count
// against the service (a nil isFailure counts every error); errors it
// rejects count as successes, since the service did answer.
func New(name string, p resilience.BreakerPolicy, isFailure func(error) bool) (*Breaker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Disabled {
		return &Breaker{disabled: true}, nil
	}
	consecutive := p.ConsecutiveFailures
	if consecutive == 0 && p.FailureRatio == 0 {
		consecutive = 5
	}
	minRequests := p.MinRequests
	if minRequests == 0 {
		minRequests = 10
	}
	timeout := p.OpenTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	st := gobreaker.Settings{
		Name:        name,
		MaxRequests: max(p.HalfOpenProbes, 1),
		Interval:    p.Window,
		Timeout:     timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if consecutive > 0 && c.ConsecutiveFailures >= consecutive {
				return true
			}
			return p.FailureRatio > 0 && c.Requests >= minRequests &&
				float64(c.TotalFailures)/float64(c.Requests) >= p.FailureRatio
		},
		IsSuccessful: func(err error) bool {
			return err == nil || (isFailure != nil && !isFailure(err))
		},
		IsExcluded: func(err error) bool {
			return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
		},
	}
	if f := p.OnStateChange; f != nil {
		st.OnStateChange = func(name string, from, to gobreaker.State) { f(name, state(from), state(to)) }
	}
	return &Breaker{cb: gobreaker.NewCircuitBreaker[struct{}](st)}, nil
}

// Do runs op unless the breaker is open, in which case it returns ErrOpen
// without calling op.
func (b *Breaker) Do(op func() error) error {
	if b.disabled {
		return op()
	}
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, op() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrOpen
	}
	return err
}

// State returns the breaker's current state (StateClosed when disabled).
func (b *Breaker) State() resilience.BreakerState {
	if b.disabled {
		return resilience.StateClosed
	}
	return state(b.cb.State())
}

func state(s gobreaker.State) resilience.BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return resilience.StateHalfOpen
	case gobreaker.StateOpen:
		return resilience.StateOpen
	}
	return resilience.StateClosed
}
