package retrying

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

var errFlaky = errors.New("flaky")

func fast(attempts int) resilience.RetryPolicy {
	return resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxAttempts: attempts, MaxElapsedTime: -1}
}

func TestRetrySucceedsAfterFailures(t *testing.T) {
	calls := 0
	err := Do(context.Background(), fast(5), nil, func(context.Context) error {
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
		err := Do(context.Background(), fast(attempts), nil, func(context.Context) error { calls++; return errFlaky })
		if !errors.Is(err, errFlaky) || calls != attempts {
			t.Fatalf("attempts=%d: err=%v calls=%d", attempts, err, calls)
		}
	}
}

func TestRetryPermanentStopsAtOnce(t *testing.T) {
	calls := 0
	err := Do(context.Background(), fast(5), nil, func(context.Context) error { calls++; return Permanent(errFlaky) })
	if err != errFlaky || calls != 1 {
		t.Fatalf("err=%v (want the bare error) calls=%d", err, calls)
	}
	calls = 0
	err = Do(context.Background(), fast(5), func(error) bool { return false }, func(context.Context) error { calls++; return errFlaky })
	if err != errFlaky || calls != 1 {
		t.Fatalf("not retryable: err=%v calls=%d", err, calls)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := resilience.RetryPolicy{InitialInterval: time.Hour, MaxAttempts: -1, MaxElapsedTime: time.Hour}
	calls := 0
	done := make(chan error)
	go func() {
		done <- Do(ctx, p, nil, func(context.Context) error { calls++; return errFlaky })
	}()
	cancel()
	if err := <-done; !errors.Is(err, errFlaky) || calls != 1 {
		t.Fatalf("err=%v calls=%d: want the last failure after one call", err, calls)
	}
}

func TestRetryMaxElapsed(t *testing.T) {
	p := resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: -1, MaxElapsedTime: 20 * time.Millisecond}
	calls := 0
	err := Do(context.Background(), p, nil, func(context.Context) error { calls++; return errFlaky })
	if !errors.Is(err, errFlaky) || calls < 2 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestWithDefaults(t *testing.T) {
	got := WithDefaults(resilience.RetryPolicy{})
	want := resilience.RetryPolicy{InitialInterval: 50 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2,
		Jitter: 0.5, MaxAttempts: 5, MaxElapsedTime: 30 * time.Second}
	if got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
	if got := WithDefaults(resilience.RetryPolicy{NoJitter: true, Jitter: 0.3}); got.Jitter != 0 {
		t.Fatalf("NoJitter left Jitter %v", got.Jitter)
	}
}
