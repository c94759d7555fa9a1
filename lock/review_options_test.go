package lock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// nilBackOff is a RetryStrategy that breaks its contract.
type nilBackOff struct{}

func (nilBackOff) NewBackOff() backoff.BackOff { return nil }

// TestRetryStrategyWithoutBackOff: a RetryStrategy whose NewBackOff
// returns nil is bad input, found only when a lock is held and Obtain
// would wait: an error naming WithRetry, not a panic in production under
// contention.
func TestRetryStrategyWithoutBackOff(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	ctx := context.Background()
	held, err := l.Obtain(ctx, "nil-backoff", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	err = noPanic(func() error {
		_, err := l.Obtain(ctx, "nil-backoff", 10*time.Second, lock.WithRetry(nilBackOff{}))
		return err
	})
	if !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), "WithRetry") {
		t.Fatalf("Obtain of a held lock with a RetryStrategy giving no BackOff: %v, want ErrInvalid naming WithRetry", err)
	}
}
