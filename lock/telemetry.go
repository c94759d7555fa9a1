package lock

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/lock"

// counter is one running total. Obtain and the watchdog only bump atomics;
// OpenTelemetry reads them through an observable counter at collection
// time, as mq's telemetry does.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *counter) add() { c.n.Add(1) }

// telemetry is a Locker's instruments. It never points back at the
// Locker, so that the Locker can be collected and its callback then
// unregistered (see newTelemetry).
type telemetry struct {
	// duration is synchronous: OpenTelemetry has no observable histogram,
	// and one Record per Obtain is small beside its round trips.
	duration                   metric.Float64Histogram
	obtained, notObtained, bad metric.RecordOption

	retries                     counter
	expired, notHeld, unrefresh counter
}

// obtainBuckets (seconds) span a loopback round trip to a contended wait.
var obtainBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// newTelemetry registers l's instruments with mp. The Locker has no Close,
// so the callback is unregistered when l is garbage collected: a service
// that makes Lockers as it goes does not pile up callbacks.
func newTelemetry(l *Locker, mp metric.MeterProvider, mode string) *telemetry {
	t := &telemetry{}
	modeAttr := attribute.String("lock.mode", mode)
	outcome := func(o string) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(modeAttr, attribute.String("outcome", o)))
	}
	t.obtained, t.notObtained, t.bad = outcome("ok"), outcome("not_obtained"), outcome("error")
	t.retries.opt = metric.WithAttributeSet(attribute.NewSet(modeAttr))
	reason := func(r string) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(modeAttr, attribute.String("reason", r)))
	}
	t.expired.opt, t.notHeld.opt, t.unrefresh.opt = reason("expired"), reason("not_held"), reason("refresh_failed")

	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	t.duration, _ = meter.Float64Histogram("lock.obtain.duration", metric.WithUnit("s"),
		metric.WithDescription("Time Obtain took, retries included, by outcome (ok, not_obtained, error)."),
		metric.WithExplicitBucketBoundaries(obtainBuckets...))
	retries, _ := meter.Int64ObservableCounter("lock.obtain.retries",
		metric.WithDescription("Times Obtain found the lock held and waited to try again (contention)."))
	lost, _ := meter.Int64ObservableCounter("lock.lost",
		metric.WithDescription("Locks whose Context was cancelled before Release, by reason: expired (no watchdog, ttl reached), not_held (a refresh found it gone), refresh_failed (the watchdog could not refresh it in time)."))
	reg, err := meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(retries, t.retries.n.Load(), t.retries.opt)
		for _, c := range []*counter{&t.expired, &t.notHeld, &t.unrefresh} {
			ob.ObserveInt64(lost, c.n.Load(), c.opt)
		}
		return nil
	}, retries, lost)
	if err == nil {
		runtime.AddCleanup(l, func(r metric.Registration) { _ = r.Unregister() }, reg)
	}
	return t
}

// obtainDone records one Obtain's duration and outcome.
func (t *telemetry) obtainDone(ctx context.Context, d time.Duration, err error) {
	opt := t.obtained
	switch {
	case errors.Is(err, ErrNotObtained):
		opt = t.notObtained
	case err != nil:
		opt = t.bad
	}
	t.duration.Record(ctx, d.Seconds(), opt)
}
