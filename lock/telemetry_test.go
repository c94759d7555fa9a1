package lock_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// metrics reads reader's lock instruments as "name/mode/outcome-or-reason"
// totals: counter values, and histogram counts.
func metrics(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	return otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		why := p.Attr("reason")
		if p.Kind == otelcheck.Histogram {
			why = p.Attr("outcome")
		}
		return p.Metric + "/" + p.Attr("lock.mode") + "/" + why
	})
}

// TestMetrics checks with the real OpenTelemetry SDK that Obtain's
// latency is recorded by outcome, that waits on a held lock count as
// retries, and that each way of losing a lock counts under its reason.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	r := testserver.StartRedis(t, nil)
	direct := client(t, r.Addr)
	l := lock.New(client(t, r.Addr), lock.WithMeterProvider(mp))

	held, err := l.Obtain(ctx, "m", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Three waits, then the retry strategy gives up.
	if _, err := l.Obtain(ctx, "m", 10*time.Second, lock.WithRetry(stopAfter(3))); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("Obtain of a held lock: %v", err)
	}
	_ = held.Release(ctx)

	// not_held: the key vanishes under a holder, whose Refresh finds it gone.
	gone, err := l.Obtain(ctx, "gone", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	direct.Del(ctx, "lock:{gone}")
	if err := gone.Refresh(ctx, 10*time.Second); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("Refresh of a deleted lock: %v", err)
	}
	// expired: no watchdog, the ttl runs out.
	short, err := l.Obtain(ctx, "short", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-short.Context().Done()
	// refresh_failed: the watchdog cannot reach Redis.
	dog, err := l.Obtain(ctx, "dog", 300*time.Millisecond, lock.WithWatchdog())
	if err != nil {
		t.Fatal(err)
	}
	r.Kill()
	<-dog.Context().Done()
	_ = dog.Release(ctx)
	// error: Redis is down.
	if _, err := l.Obtain(ctx, "down", time.Second); err == nil || errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("Obtain with Redis down: %v", err)
	}

	got := metrics(t, reader)
	want := map[string]int64{
		"lock.obtain.duration/single/ok":           4, // m, gone, short, dog
		"lock.obtain.duration/single/not_obtained": 1,
		"lock.obtain.duration/single/error":        1,
		"lock.obtain.retries/single/":              3,
		"lock.lost/single/not_held":                1,
		"lock.lost/single/expired":                 1,
		"lock.lost/single/refresh_failed":          1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

// stopAfter retries n times at once, then gives up.
type stopAfter uint64

func (n stopAfter) NewBackOff() backoff.BackOff {
	return backoff.WithMaxRetries(&backoff.ZeroBackOff{}, uint64(n))
}

// TestMetricsRedlockAndBadProvider: Redlock's instruments carry
// lock.mode=redlock, and a nil provider is ErrInvalid.
func TestMetricsRedlockAndBadProvider(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer mp.Shutdown(ctx)
	_, c := fiveRedis(t, nil)
	var cs []redis.UniversalClient
	for _, cl := range c {
		cs = append(cs, cl)
	}
	l, err := lock.NewRedlock(cs, lock.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	lk, err := l.Obtain(ctx, "red", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = lk.Release(ctx)
	if got := metrics(t, reader); got["lock.obtain.duration/redlock/ok"] != 1 {
		t.Fatalf("Redlock metrics %v: want one ok obtain with lock.mode redlock", got)
	}

	if _, err := lock.NewRedlock(cs, lock.WithMeterProvider(nil)); !errors.Is(err, lock.ErrInvalid) {
		t.Errorf("NewRedlock with a nil meter provider: %v", err)
	}
	if _, err := lock.New(c[0], lock.WithMeterProvider(nil)).Obtain(ctx, "k", time.Second); !errors.Is(err, lock.ErrInvalid) {
		t.Errorf("New with a nil meter provider: %v", err)
	}
}

// TestMetricsOfACollectedLockerStop: a Locker has no Close; once it is
// garbage collected its callback is unregistered, so a service that makes
// Lockers as it goes does not pile up callbacks in its MeterProvider.
func TestMetricsOfACollectedLockerStop(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	observed := func() bool {
		for k := range metrics(t, reader) {
			if strings.HasPrefix(k, "lock.lost/") {
				return true
			}
		}
		return false
	}
	l := lock.New(client(t, "127.0.0.1:1"), lock.WithMeterProvider(mp))
	if !observed() {
		t.Fatal("a live Locker's counters are not observed")
	}
	runtime.KeepAlive(l)
	waitFor(t, "the dropped Locker's callback to be unregistered", func() bool {
		runtime.GC()
		return !observed()
	})
}
