package logship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

// Alert is one anomalous window of one service.
type Alert struct {
	Service     string    `json:"service"`
	Rate        float64   `json:"rate"`     // errors / records in the window
	Baseline    float64   `json:"baseline"` // the EWMA mean rate before this window
	StdDev      float64   `json:"stddev"`   // the deviation Z is measured in, floors applied
	Z           float64   `json:"z"`        // (Rate − Baseline) / StdDev
	Volume      int64     `json:"volume"`   // records in the window
	Errors      int64     `json:"errors"`   // records at slog.LevelError or above
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Time        time.Time `json:"time"` // when the window was evaluated
}

// MessageID is the ID of the mq message publishing a: the same for the
// same service and window, so that a republish (a retried publish, two
// replicas of one Alerter fed the same records) is one message to a
// consumer with dedup.
func (a Alert) MessageID() string {
	return fmt.Sprintf("logship-alert/%s/%d", a.Service, a.WindowEnd.UnixNano())
}

// Alerter watches each service's error rate — records at slog.LevelError
// and above over all records — over a sliding window, against an EWMA
// baseline of that service's own past windows, and alerts (OnAlert, an mq
// topic) when the window's z-score reaches the threshold. See the package
// doc's # Alerts. It is safe for concurrent use.
type Alerter struct {
	o     AlertOptions
	err   error // a bad option: the Alerter is inert
	step  time.Duration
	alpha float64 // the EWMA weight of one step, from HalfLife
	tel   *alertTelemetry

	// cur is the index of the bucket evaluations have reached (the one
	// now is in); Observe clamps record times to [cur, cur+1].
	cur      atomic.Int64
	series   sync.Map // service string -> *alertSeries
	nseries  atomic.Int64
	closed   atomic.Bool
	evalMu   sync.Mutex // serialises evaluations; guards the series' baselines and lastEval
	lastEval int64

	closeOnce sync.Once
	stop      context.CancelFunc // cancels the loop and its publishes
	done      chan struct{}      // closed when the loop returns; nil without a loop
}

// NewAlerter returns an Alerter configured by opts. Zero options take
// their defaults; an option that makes no sense leaves the Alerter inert
// (Observe ignores records, Evaluate returns the error) and is reported by
// Err — check it, or call opts.Validate first. With the real clock (Now
// unset) a goroutine evaluates at every step until Close.
func NewAlerter(opts AlertOptions) *Alerter {
	a := &Alerter{err: opts.Validate(), o: opts.withDefaults()}
	a.step = a.o.Window / time.Duration(a.o.Buckets)
	a.alpha = 1 - math.Exp2(-float64(a.step)/float64(a.o.HalfLife))
	if a.err != nil {
		a.closed.Store(true)
		return a
	}
	a.tel = newAlertTelemetry(a.o.MeterProvider, func() int64 { return a.nseries.Load() })
	k := a.bucket(a.now())
	a.cur.Store(k)
	a.lastEval = k
	if opts.Now == nil {
		ctx, cancel := context.WithCancel(context.Background())
		a.stop, a.done = cancel, make(chan struct{})
		go a.loop(ctx)
	}
	return a
}

// Err is the option error NewAlerter found, nil when the Alerter works.
func (a *Alerter) Err() error { return a.err }

func (a *Alerter) now() time.Time {
	if a.o.Now != nil {
		return a.o.Now()
	}
	return time.Now()
}

// bucket is the index of the step t falls in.
func (a *Alerter) bucket(t time.Time) int64 {
	n := t.UnixNano()
	k := n / int64(a.step)
	if n < 0 && n%int64(a.step) != 0 {
		k-- // floor, for times before 1970
	}
	return k
}

// Observe counts one record of service at level, logged at t. It is
// cheap and safe for concurrent use: the log hot path calls it. A record
// whose time is before the current step (a consumer catching up on a
// backlog, a skewed clock) counts in the current step, and one after the
// next step in the next: windows already evaluated are final, and a clock
// in the future cannot overwrite the window being measured.
func (a *Alerter) Observe(service string, level slog.Level, t time.Time) {
	if a.closed.Load() {
		return
	}
	s := a.seriesFor(service)
	if s == nil {
		return
	}
	cur := a.cur.Load()
	k := a.bucket(t)
	if k < cur {
		k = cur
	} else if k > cur+1 {
		k = cur + 1
	}
	s.add(k, level >= slog.LevelError)
}

// ObserveRecord is Observe of r's service, level and time.
func (a *Alerter) ObserveRecord(r Record) { a.Observe(r.Service, r.Level, r.Time) }

// seriesFor is service's series, created on first sight unless
// MaxServices are tracked already (then nil, counted).
func (a *Alerter) seriesFor(service string) *alertSeries {
	if v, ok := a.series.Load(service); ok {
		return v.(*alertSeries)
	}
	if a.nseries.Add(1) > int64(a.o.MaxServices) {
		a.nseries.Add(-1)
		a.tel.untracked.add(1)
		return nil
	}
	v, loaded := a.series.LoadOrStore(service, newAlertSeries(a.o.Buckets))
	if loaded {
		a.nseries.Add(-1)
	}
	return v.(*alertSeries)
}

// Evaluate measures every service's window ending at the start of the
// step now is in, updates the baselines and returns the alerts it fired,
// after calling OnAlert and publishing them. It does nothing (nil, nil)
// when that window was evaluated already; steps skipped since the last
// evaluation are not evaluated on their own. The error joins the publish
// failures (the alerts are returned all the same). With the real clock
// the Alerter calls it at every step itself; with Now set, the caller
// does.
func (a *Alerter) Evaluate(ctx context.Context, now time.Time) ([]Alert, error) {
	if a.err != nil {
		return nil, a.err
	}
	if a.closed.Load() {
		return nil, ErrClosed
	}
	a.evalMu.Lock()
	k := a.bucket(now)
	if k <= a.lastEval {
		a.evalMu.Unlock()
		return nil, nil
	}
	a.lastEval = k
	a.cur.Store(k)
	end := time.Unix(0, k*int64(a.step))
	start := end.Add(-a.step * time.Duration(a.o.Buckets)) // Window, less what Buckets does not divide
	var alerts []Alert
	full := a.nseries.Load() >= int64(a.o.MaxServices)
	a.series.Range(func(key, v any) bool {
		s := v.(*alertSeries)
		if full && s.idle(k, a.o.Buckets) {
			// The table is full (a flood of made-up names, perhaps): a
			// service with no record in a whole window gives its place
			// up, so that new services are not shut out for ever. A
			// record Observe adds at this very instant is lost.
			if a.series.CompareAndDelete(key, v) {
				a.nseries.Add(-1)
			}
			return true
		}
		if al, ok := a.judge(key.(string), s, k, now); ok {
			al.WindowStart, al.WindowEnd, al.Time = start, end, now
			alerts = append(alerts, al)
		}
		return true
	})
	a.evalMu.Unlock()
	a.tel.evaluations.add(1)

	var errs []error
	for _, al := range alerts {
		a.tel.alerts.add(1)
		a.callOnAlert(al)
		if err := a.publish(ctx, al); err != nil {
			errs = append(errs, err)
		}
	}
	return alerts, errors.Join(errs...)
}

// judge measures s's window ending before bucket k against its baseline,
// updates the baseline, and says whether the window alerts. Called with
// evalMu held.
func (a *Alerter) judge(service string, s *alertSeries, k int64, now time.Time) (Alert, bool) {
	total, errs := s.window(k, a.o.Buckets)
	if total < int64(a.o.MinVolume) || total == 0 {
		// Too few records to mean anything, either way: the baseline
		// neither learns from nor is judged by this window.
		return Alert{}, false
	}
	rate := float64(errs) / float64(total)
	b := &s.base
	if b.samples < a.o.Warmup*a.o.Buckets {
		b.learn(rate, a.alpha)
		return Alert{}, false
	}
	sd := b.stddev(total, a.o.MinStdDev)
	z := (rate - b.mean) / sd
	if z < a.o.Threshold || rate < a.o.MinErrorRate {
		b.anomalousSince = time.Time{}
		b.learn(rate, a.alpha)
		return Alert{}, false
	}
	// Anomalous: the baseline does not learn from it, so that a sustained
	// incident stays one (and alerts again after each Cooldown) instead
	// of becoming the new normal — unless it lasts Relearn.
	if b.anomalousSince.IsZero() {
		b.anomalousSince = now
	} else if a.o.Relearn > 0 && now.Sub(b.anomalousSince) >= a.o.Relearn {
		a.o.Logger.Warn("logship: alerter: error rate anomalous for longer than Relearn; taking it as the new baseline",
			"service", service, "rate", rate, "baseline", b.mean, "since", b.anomalousSince)
		s.base = baseline{}
		s.base.learn(rate, a.alpha)
		a.tel.relearned.add(1)
		return Alert{}, false
	}
	if !b.lastAlert.IsZero() && now.Sub(b.lastAlert) < a.o.Cooldown {
		a.tel.suppressed.add(1)
		return Alert{}, false
	}
	b.lastAlert = now
	return Alert{Service: service, Rate: rate, Baseline: b.mean, StdDev: sd, Z: z, Volume: total, Errors: errs}, true
}

// callOnAlert runs OnAlert, recovering a panic: a broken callback must not
// stop the evaluations of every other service.
func (a *Alerter) callOnAlert(al Alert) {
	if a.o.OnAlert == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			a.tel.callbackPanics.add(1)
			a.o.Logger.Error("logship: alerter: OnAlert panicked", "service", al.Service, "panic", p)
		}
	}()
	a.o.OnAlert(al)
}

// publish sends al to the alert topic, when there is one.
func (a *Alerter) publish(ctx context.Context, al Alert) error {
	if a.o.Publisher == nil {
		return nil
	}
	body, err := json.Marshal(al)
	if err != nil { // a NaN cannot reach here (floors keep sd > 0); kept for safety
		return fmt.Errorf("logship: alert for %q: encode: %w", al.Service, err)
	}
	m := &mq.Message{ID: al.MessageID(), Topic: a.o.Topic, Key: al.Service, Payload: body,
		Headers: map[string]string{HeaderService: al.Service}}
	if err := a.o.Publisher.Publish(ctx, m); err != nil {
		a.tel.publishFailed.add(1)
		if ctx.Err() != nil {
			return ctx.Err() // shutting down (or the caller gave up): not news
		}
		a.o.Logger.Error("logship: alerter: publish failed", "service", al.Service, "topic", a.o.Topic, "err", err)
		return fmt.Errorf("logship: publish alert for %q to %q: %w", al.Service, a.o.Topic, err)
	}
	a.tel.published.add(1)
	return nil
}

// loop evaluates at every step boundary of the real clock until ctx ends.
func (a *Alerter) loop(ctx context.Context) {
	defer close(a.done)
	timer := time.NewTimer(a.untilNextStep())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		// Errors are logged and counted by publish.
		_, _ = a.Evaluate(ctx, a.now())
		timer.Reset(a.untilNextStep())
	}
}

func (a *Alerter) untilNextStep() time.Duration {
	now := a.now()
	next := time.Unix(0, (a.bucket(now)+1)*int64(a.step))
	return next.Sub(now)
}

// Close stops the evaluations, cancelling a publish in flight, and waits
// for the evaluating goroutine. It is idempotent; afterwards Observe
// ignores records and Evaluate returns ErrClosed.
func (a *Alerter) Close() error {
	a.closeOnce.Do(func() {
		a.closed.Store(true)
		if a.stop != nil {
			a.stop()
			<-a.done
		}
		if a.tel != nil {
			a.tel.close()
		}
	})
	return nil
}
