package breaker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

var errFlaky = errors.New("flaky")

type transitions struct {
	mu  sync.Mutex
	seq []resilience.BreakerState
}

func (tr *transitions) record(_ string, _, to resilience.BreakerState) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq = append(tr.seq, to)
}

func TestBreakerOpenRejectsWithoutCalling(t *testing.T) {
	b, err := New("t", resilience.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.Do(func() error { return errFlaky }); !errors.Is(err, errFlaky) {
			t.Fatalf("closed breaker: %v", err)
		}
	}
	called := false
	if err := b.Do(func() error { called = true; return nil }); !errors.Is(err, ErrOpen) || called {
		t.Fatalf("open breaker: err=%v called=%v", err, called)
	}
}

// waitNotOpen polls the state (which is what moves an expired open breaker
// to half-open) with a generous deadline rather than sleeping a fixed time.
func waitNotOpen(t *testing.T, b *Breaker) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for b.State() == resilience.StateOpen {
		if time.Now().After(deadline) {
			t.Fatal("breaker never left the open state")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	var tr transitions
	b, err := New("t", resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Millisecond, OnStateChange: tr.record}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(func() error { return errFlaky })
	waitNotOpen(t, b)
	if err := b.Do(func() error { return errFlaky }); !errors.Is(err, errFlaky) {
		t.Fatalf("half-open probe: %v", err)
	}
	waitNotOpen(t, b)
	if err := b.Do(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if b.State() != resilience.StateClosed {
		t.Fatalf("successful probe must close, state %v", b.State())
	}
	want := []resilience.BreakerState{resilience.StateOpen, resilience.StateHalfOpen, resilience.StateOpen, resilience.StateHalfOpen, resilience.StateClosed}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.seq) != len(want) {
		t.Fatalf("transitions %v, want %v", tr.seq, want)
	}
	for i := range want {
		if tr.seq[i] != want[i] {
			t.Fatalf("transitions %v, want %v", tr.seq, want)
		}
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	b, err := New("t", resilience.BreakerPolicy{FailureRatio: 0.5, MinRequests: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Alternate so consecutive failures never exceed 1.
	for i := range 3 {
		_ = b.Do(func() error {
			if i%2 == 0 {
				return errFlaky
			}
			return nil
		})
	}
	if b.State() != resilience.StateClosed {
		t.Fatal("tripped below MinRequests")
	}
	_ = b.Do(func() error { return nil })
	_ = b.Do(func() error { return errFlaky }) // 3 of 5 failed
	if b.State() != resilience.StateOpen {
		t.Fatalf("state %v after 3/5 failures, want open", b.State())
	}
}

func TestBreakerIgnoresNonFailuresAndContextErrors(t *testing.T) {
	errBadInput := errors.New("bad input")
	b, _ := New("t", resilience.BreakerPolicy{ConsecutiveFailures: 1}, func(err error) bool { return !errors.Is(err, errBadInput) })
	_ = b.Do(func() error { return errBadInput })
	_ = b.Do(func() error { return context.Canceled })
	if b.State() != resilience.StateClosed {
		t.Fatal("non-failures tripped the breaker")
	}
	_ = b.Do(func() error { return errFlaky })
	if b.State() != resilience.StateOpen {
		t.Fatal("a failure did not trip the breaker")
	}
}

func TestBreakerDisabledAndValidate(t *testing.T) {
	b, _ := New("t", resilience.BreakerPolicy{Disabled: true, ConsecutiveFailures: 1}, nil)
	for range 3 {
		if err := b.Do(func() error { return errFlaky }); !errors.Is(err, errFlaky) {
			t.Fatal(err)
		}
	}
	for _, p := range []resilience.BreakerPolicy{{FailureRatio: 2}, {Window: -1}, {OpenTimeout: -1}} {
		if _, err := New("t", p, nil); err == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
}
