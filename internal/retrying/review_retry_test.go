package retrying

import (
	"context"
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/resilience"
)

// TestDoCancelledWaitMatchesBoth: when ctx ends the wait before a retry,
// Do's error matches ctx's error (the caller gave up) and op's last
// failure (why it was retrying).
func TestDoCancelledWaitMatchesBoth(t *testing.T) {
	down := errors.New("broker down")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := Do(ctx, resilience.RetryPolicy{MaxAttempts: 10}, nil, func(context.Context) error {
		cancel()
		return down
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, down) {
		t.Fatalf("Do cancelled during its wait: %v; want context.Canceled and the last failure", err)
	}
}
