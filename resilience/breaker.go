package resilience

import (
	"fmt"
	"time"
)

// BreakerPolicy configures a circuit breaker: after enough failures in a
// row (or a high enough share of failures) the breaker opens, and calls
// fail at once, without reaching the service, until OpenTimeout has
// passed; then it lets HalfOpenProbes calls through, and closes again if
// they succeed. The zero value is usable: it opens after 5 consecutive
// failures and probes again after 5s, one call at a time.
type BreakerPolicy struct {
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row. Default 5 when FailureRatio is zero too; zero with a
	// FailureRatio leaves only the ratio.
	ConsecutiveFailures uint32
	// FailureRatio, in [0,1], opens the breaker when at least MinRequests
	// calls were made in the current Window and this share of them
	// failed. Default 0: ratio tripping off.
	FailureRatio float64
	// MinRequests is the smallest number of calls FailureRatio is judged
	// on. Default 10.
	MinRequests uint32
	// Window is the period after which a closed breaker forgets its
	// counts. Default 0: they are kept until the state changes.
	Window time.Duration
	// OpenTimeout is how long the breaker stays open before it lets
	// probes through. Default 5s.
	OpenTimeout time.Duration
	// HalfOpenProbes is how many calls may run while the breaker is
	// half-open; that many successes close it, one failure opens it
	// again. Default 1.
	HalfOpenProbes uint32
	// OnStateChange, when set, is called on every transition, with the
	// breaker's name (such as "mq:kafka" or "filestore s3-main"). It runs
	// on the goroutine whose call made the transition: keep it short.
	OnStateChange func(name string, from, to BreakerState)
	// Disabled turns the breaker off: every call goes through.
	Disabled bool
}

// Validate reports the first field that holds an impossible value, by name.
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

// BreakerState is the state of a circuit breaker, as passed to
// BreakerPolicy.OnStateChange.
type BreakerState int

// The breaker states.
const (
	// StateClosed: calls go through; failures are counted.
	StateClosed BreakerState = iota
	// StateHalfOpen: OpenTimeout has passed; HalfOpenProbes calls may go
	// through to see whether the service is back.
	StateHalfOpen
	// StateOpen: calls fail at once without reaching the service.
	StateOpen
)

// String returns "closed", "half-open" or "open".
func (s BreakerState) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}
