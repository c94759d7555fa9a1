package resilience_test

import (
	"testing"

	"github.com/groundwork-go/groundwork/resilience"
)

func TestRetryPolicyValidate(t *testing.T) {
	bad := []resilience.RetryPolicy{{InitialInterval: -1}, {MaxInterval: -1}, {Multiplier: 0.5}, {Jitter: 1}, {Jitter: -0.1}}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
	for _, p := range []resilience.RetryPolicy{{}, {MaxAttempts: -1, MaxElapsedTime: -1}, {Multiplier: 1, Jitter: 0.99}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestBreakerPolicyValidate(t *testing.T) {
	for _, p := range []resilience.BreakerPolicy{{FailureRatio: 2}, {FailureRatio: -1}, {Window: -1}, {OpenTimeout: -1}} {
		if p.Validate() == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
	if err := (resilience.BreakerPolicy{FailureRatio: 1}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestBreakerStateString(t *testing.T) {
	for s, want := range map[resilience.BreakerState]string{
		resilience.StateClosed: "closed", resilience.StateHalfOpen: "half-open", resilience.StateOpen: "open", 7: "BreakerState(7)",
	} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
}
