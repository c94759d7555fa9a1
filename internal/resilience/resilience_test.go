package resilience

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var errFlaky = errors.New("flaky")

func fast(attempts int) RetryPolicy {
	return RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxAttempts: attempts, MaxElapsedTime: -1}
}

func TestRetrySucceedsAfterFailures(t *testing.T) {
	calls := 0
	err := fast(5).Do(context.Background(), nil, func(context.Context) error {
		if calls++; calls < 3 {
			return errFlaky
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err=%v calls=%d, want nil after 3 calls", err, calls)
	}
}

func TestRetryStopsAtMaxAttempts(t *testing.T) {
	for _, attempts := range []int{1, 2, 4} {
		calls := 0
		err := fast(attempts).Do(context.Background(), nil, func(context.Context) error { calls++; return errFlaky })
		if !errors.Is(err, errFlaky) || calls != attempts {
			t.Fatalf("attempts=%d: err=%v calls=%d", attempts, err, calls)
		}
	}
}

func TestRetryPermanentStopsAtOnce(t *testing.T) {
	calls := 0
	err := fast(5).Do(context.Background(), nil, func(context.Context) error { calls++; return Permanent(errFlaky) })
	if err != errFlaky || calls != 1 {
		t.Fatalf("err=%v (want the bare error) calls=%d", err, calls)
	}
	calls = 0
	err = fast(5).Do(context.Background(), func(error) bool { return false }, func(context.Context) error { calls++; return errFlaky })
	if err != errFlaky || calls != 1 {
		t.Fatalf("not retryable: err=%v calls=%d", err, calls)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := RetryPolicy{InitialInterval: time.Hour, MaxAttempts: -1, MaxElapsedTime: time.Hour}
	calls := 0
	done := make(chan error)
	go func() {
		done <- p.Do(ctx, nil, func(context.Context) error { calls++; return errFlaky })
	}()
	cancel()
	if err := <-done; !errors.Is(err, errFlaky) || calls != 1 {
		t.Fatalf("err=%v calls=%d: want the last failure after one call", err, calls)
	}
}

func TestRetryMaxElapsed(t *testing.T) {
	p := RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: -1, MaxElapsedTime: 20 * time.Millisecond}
	calls := 0
	err := p.Do(context.Background(), nil, func(context.Context) error { calls++; return errFlaky })
	if !errors.Is(err, errFlaky) || calls < 2 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestRetryValidate(t *testing.T) {
	bad := []RetryPolicy{{InitialInterval: -1}, {MaxInterval: -1}, {Multiplier: 0.5}, {Jitter: 1}}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
	if err := (RetryPolicy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
}

type transitions struct {
	mu  sync.Mutex
	seq []State
}

func (tr *transitions) record(_ string, _, to State) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq = append(tr.seq, to)
}

func TestBreakerOpenRejectsWithoutCalling(t *testing.T) {
	b, err := NewBreaker("t", BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour}, nil)
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
	for b.State() == StateOpen {
		if time.Now().After(deadline) {
			t.Fatal("breaker never left the open state")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	var tr transitions
	b, err := NewBreaker("t", BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Millisecond, OnStateChange: tr.record}, nil)
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
	if b.State() != StateClosed {
		t.Fatalf("successful probe must close, state %v", b.State())
	}
	want := []State{StateOpen, StateHalfOpen, StateOpen, StateHalfOpen, StateClosed}
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
	b, err := NewBreaker("t", BreakerPolicy{FailureRatio: 0.5, MinRequests: 4}, nil)
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
	if b.State() != StateClosed {
		t.Fatal("tripped below MinRequests")
	}
	_ = b.Do(func() error { return nil })
	_ = b.Do(func() error { return errFlaky }) // 3 of 5 failed
	if b.State() != StateOpen {
		t.Fatalf("state %v after 3/5 failures, want open", b.State())
	}
}

func TestBreakerIgnoresNonFailuresAndContextErrors(t *testing.T) {
	errBadInput := errors.New("bad input")
	b, _ := NewBreaker("t", BreakerPolicy{ConsecutiveFailures: 1}, func(err error) bool { return !errors.Is(err, errBadInput) })
	_ = b.Do(func() error { return errBadInput })
	_ = b.Do(func() error { return context.Canceled })
	if b.State() != StateClosed {
		t.Fatal("non-failures tripped the breaker")
	}
	_ = b.Do(func() error { return errFlaky })
	if b.State() != StateOpen {
		t.Fatal("a failure did not trip the breaker")
	}
}

func TestBreakerDisabledAndValidate(t *testing.T) {
	b, _ := NewBreaker("t", BreakerPolicy{Disabled: true, ConsecutiveFailures: 1}, nil)
	for range 3 {
		if err := b.Do(func() error { return errFlaky }); !errors.Is(err, errFlaky) {
			t.Fatal(err)
		}
	}
	for _, p := range []BreakerPolicy{{FailureRatio: 2}, {Window: -1}, {OpenTimeout: -1}} {
		if _, err := NewBreaker("t", p, nil); err == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
}
