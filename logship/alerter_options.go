package logship

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/mq"
)

// AlertOptions configure an Alerter. The zero value of every field is
// replaced by the default its doc names; a value that makes no sense
// (negative, NaN, a Publisher without a Topic) makes the Alerter inert and
// is reported by Err, or beforehand by Validate.
type AlertOptions struct {
	// Window is the sliding window an error rate is measured over,
	// default 1 minute.
	Window time.Duration
	// Buckets is the window's resolution, default 6: the window slides by
	// Window/Buckets, and an evaluation runs at each step.
	Buckets int
	// HalfLife is how fast the baseline forgets: a window's weight in the
	// EWMA mean and variance halves every HalfLife, default 10 minutes.
	// Shorter follows a drift sooner and so misses slow degradations more.
	HalfLife time.Duration
	// Threshold is the z-score a window's rate must reach to alert,
	// default 3.
	Threshold float64
	// MinStdDev floors the baseline's standard deviation, default 0.01
	// (one percentage point): a perfectly flat baseline would otherwise
	// make any blip infinitely anomalous. With the defaults a rate must
	// rise at least Threshold×MinStdDev = 3 points above its baseline.
	MinStdDev float64
	// MinVolume is the number of records a window must hold before it can
	// alert or teach the baseline, default 50: 3 errors out of 4 records
	// at night are not an incident.
	MinVolume int
	// MinErrorRate is a rate below which no window alerts whatever its
	// z-score, default 0 (none).
	MinErrorRate float64
	// Warmup is the number of windows of MinVolume records a service's
	// baseline learns from before it can alert, default 5.
	Warmup int
	// Cooldown is the least time between two alerts of one service,
	// default 10 minutes.
	Cooldown time.Duration
	// Relearn is how long a service may stay anomalous before its current
	// rate is taken as the new normal (the baseline restarts, with a new
	// Warmup), default 1 hour; negative: never.
	Relearn time.Duration
	// MaxServices bounds the services tracked, default 1000; records of
	// services beyond it are counted (logship.alerter.untracked) and
	// otherwise ignored, so that a service name taken from input cannot
	// grow memory without bound. While the table is full, a service
	// without a record for a whole window (and the next step) is dropped
	// from it at an evaluation, baseline and all, making room.
	MaxServices int

	// OnAlert, when set, is called with each alert, from the evaluating
	// goroutine; a panic in it is recovered and logged.
	OnAlert func(Alert)
	// Publisher, when set, gets each alert published to Topic as a JSON
	// message (see Alert.MessageID), keyed by service.
	Publisher *mq.Client
	// Topic is the topic alerts are published to; required with Publisher.
	Topic string

	// Now is the clock, default time.Now. When Now is set the Alerter
	// starts no goroutine: the caller drives it with Evaluate, which is
	// how tests run deterministically.
	Now func() time.Time
	// Logger receives the Alerter's own problems (a publish that failed,
	// a panicking OnAlert, a relearned baseline), default slog.Default().
	Logger *slog.Logger
	// MeterProvider provides the Alerter's metrics, default the global one.
	MeterProvider metric.MeterProvider
}

// The defaults AlertOptions' zero values stand for.
const (
	DefaultAlertWindow    = time.Minute
	DefaultAlertBuckets   = 6
	DefaultAlertHalfLife  = 10 * time.Minute
	DefaultAlertThreshold = 3.0
	DefaultAlertMinStdDev = 0.01
	DefaultAlertMinVolume = 50
	DefaultAlertWarmup    = 5
	DefaultAlertCooldown  = 10 * time.Minute
	DefaultAlertRelearn   = time.Hour
	DefaultAlertServices  = 1000
)

// maxAlertBuckets bounds Buckets: each tracked service holds two counters
// per bucket.
const maxAlertBuckets = 1000

// Validate reports the first option that makes no sense, wrapping
// ErrInvalid and naming the field. Zero values are fine: they stand for
// the defaults.
func (o AlertOptions) Validate() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: AlertOptions.%s = %v: %s", ErrInvalid, field, v, why)
	}
	notFinite := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	switch {
	case o.Window < 0:
		return bad("Window", o.Window, "negative")
	case o.Buckets < 0 || o.Buckets > maxAlertBuckets:
		return bad("Buckets", o.Buckets, fmt.Sprintf("want 0 (default) to %d", maxAlertBuckets))
	case o.HalfLife < 0:
		return bad("HalfLife", o.HalfLife, "negative")
	case o.Threshold < 0 || notFinite(o.Threshold):
		return bad("Threshold", o.Threshold, "want a finite z-score ≥ 0")
	case o.MinStdDev < 0 || notFinite(o.MinStdDev):
		return bad("MinStdDev", o.MinStdDev, "want a finite rate ≥ 0")
	case o.MinVolume < 0:
		return bad("MinVolume", o.MinVolume, "negative")
	case o.MinErrorRate < 0 || o.MinErrorRate > 1 || math.IsNaN(o.MinErrorRate):
		return bad("MinErrorRate", o.MinErrorRate, "want a rate from 0 to 1")
	case o.Warmup < 0:
		return bad("Warmup", o.Warmup, "negative")
	case o.Cooldown < 0:
		return bad("Cooldown", o.Cooldown, "negative")
	case o.MaxServices < 0:
		return bad("MaxServices", o.MaxServices, "negative")
	case o.Publisher != nil && o.Topic == "":
		return bad("Topic", `""`, "required with a Publisher")
	case o.Publisher == nil && o.Topic != "":
		return bad("Publisher", "nil", fmt.Sprintf("Topic %q set without a Publisher", o.Topic))
	}
	w, b := o.Window, o.Buckets
	if w == 0 {
		w = DefaultAlertWindow
	}
	if b == 0 {
		b = DefaultAlertBuckets
	}
	if w/time.Duration(b) < time.Millisecond {
		return bad("Window", w, fmt.Sprintf("a step of Window/Buckets under 1ms with %d buckets", b))
	}
	return nil
}

// withDefaults is o with its zero values replaced by the defaults.
func (o AlertOptions) withDefaults() AlertOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Window, DefaultAlertWindow)
	def(&o.HalfLife, DefaultAlertHalfLife)
	def(&o.Cooldown, DefaultAlertCooldown)
	def(&o.Relearn, DefaultAlertRelearn)
	if o.Buckets == 0 {
		o.Buckets = DefaultAlertBuckets
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultAlertThreshold
	}
	if o.MinStdDev == 0 {
		o.MinStdDev = DefaultAlertMinStdDev
	}
	if o.MinVolume == 0 {
		o.MinVolume = DefaultAlertMinVolume
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultAlertWarmup
	}
	if o.MaxServices == 0 {
		o.MaxServices = DefaultAlertServices
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	return o
}
