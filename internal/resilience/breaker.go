package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrOpen is returned by Breaker.Do while the breaker is open, or half-open
// with all its probe slots taken.
var ErrOpen = errors.New("circuit breaker open")

// State is a breaker state.
type State = gobreaker.State

// The breaker states.
const (
	StateClosed   = gobreaker.StateClosed
	StateHalfOpen = gobreaker.StateHalfOpen
	StateOpen     = gobreaker.StateOpen
)

// BreakerPolicy configures a circuit breaker. The zero value is usable:
// it trips after 5 consecutive failures and probes again after 5s.
type BreakerPolicy struct {
	// ConsecutiveFailures trips the breaker after this many failures in a
	// row. Default 5 (when FailureRatio is unset too).
	ConsecutiveFailures uint32
	// FailureRatio trips the breaker when, over the current Window, at
	// least MinRequests calls were made and this fraction of them failed.
	// Zero leaves ratio tripping off.
	FailureRatio float64
	// MinRequests is the smallest sample FailureRatio is judged on.
	// Default 10.
	MinRequests uint32
	// Window is the rolling period over which closed-state counts are
	// kept. Zero keeps them until the state changes.
	Window time.Duration
	// OpenTimeout is how long the breaker stays open before letting probes
	// through. Default 5s.
	OpenTimeout time.Duration
	// HalfOpenProbes is how many calls may run while half-open; that many
	// successes close the breaker, one failure opens it again. Default 1.
	HalfOpenProbes uint32
	// OnStateChange, when set, is called on every transition.
	OnStateChange func(name string, from, to State)
	// Disabled turns the breaker off: every call goes through.
	Disabled bool
}

// Validate reports the first field that holds an impossible value.
func (p BreakerPolicy) Validate() error {
	switch {
	case p.FailureRatio < 0 || p.FailureRatio > 1:
		return fmt.Errorf("breaker policy: FailureRatio %v is outside [0,1]", p.FailureRatio)
	case p.Window < 0:
		return fmt.Errorf("breaker policy: Window %v is negative", p.Window)
	case p.OpenTimeout < 0:
		return fmt.Errorf("breaker policy: OpenTimeout %v is negative", p.OpenTimeout)
	}
	return nil
}

// Breaker is a circuit breaker over sony/gobreaker. Failures are the errors
// that the isFailure function given to NewBreaker reports; context errors
// are never counted.
type Breaker struct {
	cb       *gobreaker.CircuitBreaker[struct{}]
	disabled bool
}

// NewBreaker builds a breaker named name. isFailure decides which errors
// count against the service (a nil isFailure counts every error); errors it
// rejects count as successes, since the service did answer.
func NewBreaker(name string, p BreakerPolicy, isFailure func(error) bool) (*Breaker, error) {
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
	if p.OnStateChange != nil {
		st.OnStateChange = p.OnStateChange
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
func (b *Breaker) State() State {
	if b.disabled {
		return StateClosed
	}
	return b.cb.State()
}
