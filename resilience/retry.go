package resilience

import (
	"fmt"
	"time"
)

// RetryPolicy is exponential backoff with jitter: after a failure the call
// waits InitialInterval, then Multiplier times longer after each further
// failure, up to MaxInterval per wait, each wait spread by Jitter, until
// MaxAttempts calls were made or MaxElapsedTime has passed. The zero value
// is usable: every zero field takes the default named in its comment
// (5 attempts, 50ms doubling to 5s, jitter 0.5, 30s at most).
type RetryPolicy struct {
	// InitialInterval is the wait after the first failure. Default 50ms.
	InitialInterval time.Duration
	// MaxInterval caps a single wait, before jitter. Default 5s.
	MaxInterval time.Duration
	// Multiplier grows the wait after each failure; at least 1. Default 2.
	Multiplier float64
	// Jitter is the randomization factor, in [0,1): each wait is drawn
	// from [wait×(1−Jitter), wait×(1+Jitter)], so that clients failing
	// together do not retry together. Default 0.5; NoJitter turns it off
	// (zero here means "the default").
	Jitter float64
	// NoJitter makes every wait exact.
	NoJitter bool
	// MaxAttempts bounds the calls, the first included: 1 means no retry.
	// Default 5; negative means no bound but MaxElapsedTime.
	MaxAttempts int
	// MaxElapsedTime bounds the time spent retrying, measured from the
	// first failure: no wait is started that would end past it. Default
	// 30s; negative means no bound but MaxAttempts.
	MaxElapsedTime time.Duration
}

// Validate reports the first field that holds an impossible value, by name.
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
