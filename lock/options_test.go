package lock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// TestOptions: one Option type for New, NewRedlock, Obtain and Do. A bad
// value is an error naming the option wherever it is given; a Locker-wide
// option given to Obtain is an error, not silently ignored; a per-call
// option overrides the Locker's for that lock only.
func TestOptions(t *testing.T) {
	c := client(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	l := lock.New(c)

	bad := []struct {
		name string
		opt  lock.Option
	}{
		{"WithRetry", lock.WithRetry(nil)},
		{"WithMetadata", lock.WithMetadata("host\x00pid")},
		{"WithMeterProvider", lock.WithMeterProvider(nil)},
		{"option 0 is nil", nil},
	}
	for _, tc := range bad {
		check := func(where string, err error) {
			t.Helper()
			if !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("%s with a bad %s: %v, want ErrInvalid naming it", where, tc.name, err)
			}
		}
		_, err := lock.New(c, tc.opt).Obtain(ctx, "k", time.Second)
		check("New, then Obtain", err)
		_, err = lock.New(c, tc.opt).Holder(ctx, "k")
		check("New, then Holder", err)
		_, err = lock.NewRedlock([]redis.UniversalClient{c}, tc.opt)
		check("NewRedlock", err)
		_, err = l.Obtain(ctx, "k", time.Second, tc.opt)
		check("Obtain", err)
	}

	for _, tc := range []struct {
		name string
		opt  lock.Option
	}{
		{"WithKeyPrefix", lock.WithKeyPrefix("x:")},
		{"WithMeterProvider", lock.WithMeterProvider(noop.NewMeterProvider())},
	} {
		if _, err := l.Obtain(ctx, "k", time.Second, tc.opt); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), tc.name+" configures a Locker") {
			t.Errorf("Obtain with Locker-wide %s: %v, want ErrInvalid saying so", tc.name, err)
		}
	}
	if _, err := l.Holder(ctx, "k"); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("a refused Obtain took the lock: %v", err)
	}

	app := lock.New(c, lock.WithKeyPrefix("app:"), lock.WithMetadata("default"))
	mine, err := app.Obtain(ctx, "k", 10*time.Second, lock.WithMetadata("mine"))
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Release(ctx)
	other, err := app.Obtain(ctx, "k2", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release(ctx)
	if mine.Metadata() != "mine" || other.Metadata() != "default" {
		t.Fatalf("metadata %q and %q: want the per-call one, then the Locker's", mine.Metadata(), other.Metadata())
	}
	if n, _ := c.Exists(ctx, "app:{k}", "app:{k2}").Result(); n != 2 {
		t.Fatalf("%d of the locks under the Locker's prefix app:", n)
	}
}
