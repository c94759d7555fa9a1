package logship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
)

// quietLogger keeps the Alerter's expected complaints out of test output.
var quietLogger = slog.New(slog.DiscardHandler)

// TestAlertSpike: 30 windows at 1% errors, then 20% for 15 minutes. The
// spike alerts at once, not again during the 10-minute cooldown, again
// when the cooldown is over and the rate still high, and not once the
// rate is back to normal.
func TestAlertSpike(t *testing.T) {
	r := newAlertRig(t, AlertOptions{Logger: quietLogger})
	normal := map[string][2]float64{"orders": {100, 0.01}}
	r.run(30*6, normal)
	if len(r.alerts) != 0 {
		t.Fatalf("alerts on the steady baseline: %+v", r.alerts)
	}
	spikeAt := r.k
	r.run(15*6, map[string][2]float64{"orders": {100, 0.20}})
	r.run(5*6, normal)
	got := r.alertSteps("orders")
	want := []int{spikeAt + 1, spikeAt + 1 + 60}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alerts at steps %v, want %v (spike from step %d, cooldown 60 steps)", got, want, spikeAt)
	}
	al := r.alerts[0]
	if al.Service != "orders" || al.Volume != 600 || al.Errors != 25 || math.Abs(al.Rate-25.0/600) > 1e-9 ||
		math.Abs(al.Baseline-0.01) > 0.001 || al.Z < 3 || al.StdDev != DefaultAlertMinStdDev {
		t.Fatalf("first alert %+v: want 25 errors of 600 against a 1%% baseline, σ floored at 0.01", al)
	}
	if !al.WindowEnd.Equal(r.stepStart(spikeAt+1)) || al.WindowEnd.Sub(al.WindowStart) != time.Minute || !al.Time.Equal(al.WindowEnd) {
		t.Fatalf("alert window %v–%v at %v", al.WindowStart, al.WindowEnd, al.Time)
	}
	// The sustained spike did not become the baseline.
	if b := r.series("orders").base.mean; math.Abs(b-0.01) > 0.001 {
		t.Fatalf("baseline %v after the spike: anomalous windows were learned", b)
	}
}

// TestAlertSlowRampDoesNotAlert: a rate rising 0.05 points a window, from
// 1% to 16% over five hours, never alerts: the baseline follows it. This
// is the documented blind spot — a slow degradation is not a spike.
func TestAlertSlowRampDoesNotAlert(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	for w := range 300 {
		for range 6 {
			r.feed("search", 1000, 0.01+0.0005*float64(w))
			r.next()
		}
	}
	if len(r.alerts) != 0 {
		t.Fatalf("the slow ramp alerted: %+v", r.alerts[0])
	}
	if b := r.series("search").base.mean; b < 0.15 {
		t.Fatalf("baseline %v at the end of the ramp: want it to have followed to about 0.16", b)
	}
	// The same climb at once does alert: it is the speed, not the level.
	r.run(6, map[string][2]float64{"search": {1000, 0.30}})
	if len(r.alerts) != 1 {
		t.Fatalf("%d alerts for a jump from 16%% to 30%%, want 1", len(r.alerts))
	}
}

// TestAlertLowVolumeNeverAlerts: 3 errors out of 4 records a step is
// under MinVolume and never alerts — for a service that is always that
// quiet, and for one whose busy day taught a 1% baseline, once its window
// holds night records only; nor does the night teach the baseline. (While
// the window still holds the last busy minute its volume is enough, and
// 3 errors in 4 records against 1% is an anomaly: that window may alert;
// see the package doc's # Alerts.)
func TestAlertLowVolumeNeverAlerts(t *testing.T) {
	r := newAlertRig(t, AlertOptions{Logger: quietLogger})
	r.run(60, map[string][2]float64{"billing": {100, 0.01}, "cron": {4, 0.75}})
	r.run(6, map[string][2]float64{"billing": {4, 0.75}, "cron": {4, 0.75}}) // the window slides off the day
	r.alerts = nil
	before := r.series("billing").base
	r.run(120, map[string][2]float64{"billing": {4, 0.75}, "cron": {4, 0.75}})
	if len(r.alerts) != 0 {
		t.Fatalf("low volume alerted: %+v", r.alerts[0])
	}
	if after := r.series("billing").base; after.mean != before.mean || after.samples != before.samples {
		t.Fatalf("low-volume windows taught the baseline: %+v, then %+v", before, after)
	}
	if n := r.series("cron").base.samples; n != 0 {
		t.Fatalf("the quiet service's baseline learned %d windows", n)
	}
}

// TestAlertSamplingNoise: after a perfectly flat 10% baseline (variance
// 0) and with a negligible MinStdDev, a window a little above it — well
// within the sampling noise of 600 records — does not alert: z is
// measured against the binomial deviation at the window's volume.
func TestAlertSamplingNoise(t *testing.T) {
	r := newAlertRig(t, AlertOptions{MinStdDev: 1e-9})
	r.run(60, map[string][2]float64{"q": {100, 0.10}})
	r.run(1, map[string][2]float64{"q": {100, 0.20}}) // 70 errors in 600: 11.7%, σ ≈ 1.2 points
	if len(r.alerts) != 0 {
		t.Fatalf("sampling noise alerted: %+v", r.alerts[0])
	}
	r.run(1, map[string][2]float64{"q": {100, 0.60}}) // 120 in 600: 20%, 8 σ
	if len(r.alerts) != 1 {
		t.Fatalf("%d alerts for a rate 8 σ above the baseline, want 1", len(r.alerts))
	}
}

// TestAlertUnevenWindow: a Window that Buckets do not divide reports the
// window it measured (Buckets whole steps).
func TestAlertUnevenWindow(t *testing.T) {
	r := newAlertRig(t, AlertOptions{Window: 100*time.Second + 1, Buckets: 2, Warmup: 1})
	r.run(12, map[string][2]float64{"u": {100, 0.01}})
	r.run(1, map[string][2]float64{"u": {100, 0.9}})
	if len(r.alerts) != 1 || r.alerts[0].WindowEnd.Sub(r.alerts[0].WindowStart) != 100*time.Second {
		t.Fatalf("alerts %+v: want one over 2 steps of 50 s", r.alerts)
	}
}

// TestAlertWarmup: a spike before the baseline has learned Warmup
// windows does not alert.
func TestAlertWarmup(t *testing.T) {
	r := newAlertRig(t, AlertOptions{Warmup: 3})
	r.run(2*6, map[string][2]float64{"api": {100, 0.01}})
	r.run(6, map[string][2]float64{"api": {100, 0.5}})
	if len(r.alerts) != 0 {
		t.Fatalf("alert during warm-up: %+v", r.alerts[0])
	}
}

// TestAlertServicesIndependent: one service's spike alerts for it alone,
// and leaves the other's baseline as it was.
func TestAlertServicesIndependent(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	both := map[string][2]float64{"a": {100, 0.01}, "b": {200, 0.05}}
	r.run(60, both)
	r.run(12, map[string][2]float64{"a": {100, 0.3}, "b": {200, 0.05}})
	if got := r.alertSteps("a"); len(got) != 1 {
		t.Fatalf("service a alerted at %v, want once", got)
	}
	if got := r.alertSteps("b"); len(got) != 0 {
		t.Fatalf("service b alerted at %v", got)
	}
	if m := r.series("b").base.mean; math.Abs(m-0.05) > 0.001 {
		t.Fatalf("b's baseline %v, want 0.05", m)
	}
}

// TestAlertRelearn: a rate anomalous for longer than Relearn becomes the
// new baseline: no more alerts after it, and a later spike above the new
// level alerts again once warmed up.
func TestAlertRelearn(t *testing.T) {
	r := newAlertRig(t, AlertOptions{Relearn: 30 * time.Minute, Warmup: 1, Logger: quietLogger})
	r.run(60, map[string][2]float64{"x": {100, 0.01}})
	r.run(6*60, map[string][2]float64{"x": {100, 0.20}})
	if got := r.alertSteps("x"); len(got) != 3 { // at 0, 10 and 20 minutes; relearned at 30
		t.Fatalf("alerts at %v during 1 h of 20%% with Relearn 30m: want 3", got)
	}
	if m := r.series("x").base.mean; math.Abs(m-0.20) > 0.01 {
		t.Fatalf("baseline %v after relearning, want 0.20", m)
	}
	r.alerts = nil
	r.run(6, map[string][2]float64{"x": {100, 0.60}})
	if len(r.alerts) != 1 {
		t.Fatalf("%d alerts for 60%% over a relearned 20%%, want 1", len(r.alerts))
	}
}

// TestAlertClampsRecordTimes: a record stamped far ahead lands in the
// next step (it cannot overwrite a bucket of the window being measured),
// and one stamped long ago in the current step.
func TestAlertClampsRecordTimes(t *testing.T) {
	r := newAlertRig(t, AlertOptions{MinVolume: 1, Warmup: 1})
	r.run(6, map[string][2]float64{"c": {10, 0}})
	s := r.series("c")
	k := int64(r.k) + r.a.bucket(alertT0)
	r.a.Observe("c", slog.LevelError, alertT0.Add(-24*time.Hour))
	// Step k+1+4 shares its ring slot with step k-3, which is in the window.
	r.a.Observe("c", slog.LevelError, r.stepStart(r.k+5))
	if total, errs := s.window(k, 6); total != 60 || errs != 0 {
		t.Fatalf("window before step %d: %d records, %d errors: a future record overwrote it", k, total, errs)
	}
	if total, errs := s.window(k+2, 2); total != 2 || errs != 2 {
		t.Fatalf("steps %d and %d: %d records, %d errors; want the old record in the first, the future one in the second", k, k+1, total, errs)
	}
}

// TestAlertObserveConcurrent: Observe from many goroutines, on new and
// known services, across a step boundary whose slots still hold an old
// step's counts, loses no record (run with -race).
func TestAlertObserveConcurrent(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	r.run(12, map[string][2]float64{"s0": {7, 0.5}}) // stale counts in every slot
	const goroutines, each = 8, 2000
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			at := r.stepStart(r.k)
			for i := range each {
				lvl := slog.LevelInfo
				if i%4 == 0 {
					lvl = slog.LevelError
				}
				r.a.Observe(fmt.Sprintf("s%d", (g+i)%3), lvl, at.Add(time.Duration(i%2)*r.step))
			}
		})
	}
	close(start)
	wg.Wait()
	k := int64(r.k) + r.a.bucket(alertT0)
	var total, errs int64
	for i := range 3 {
		t2, e := r.series(fmt.Sprintf("s%d", i)).window(k+2, 2)
		total += t2
		errs += e
	}
	if total != goroutines*each || errs != goroutines*each/4 {
		t.Fatalf("counted %d records, %d errors; want %d, %d", total, errs, goroutines*each, goroutines*each/4)
	}
}

// TestAlertMaxServices: services beyond MaxServices are ignored and
// counted, not tracked.
func TestAlertMaxServices(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	r := newAlertRig(t, AlertOptions{MaxServices: 2, MeterProvider: mp})
	for i := range 5 {
		r.a.Observe(fmt.Sprintf("svc%d", i), slog.LevelInfo, alertT0)
		r.a.Observe(fmt.Sprintf("svc%d", i), slog.LevelInfo, alertT0)
	}
	got := alertMetrics(t, reader)
	if got["logship.alerter.services"] != 2 || got["logship.alerter.untracked"] != 6 {
		t.Fatalf("metrics %v: want 2 services tracked, 6 records untracked", got)
	}
}

// TestAlertPublishes: alerts go to the mq topic as JSON, with an ID
// derived from service and window, so that two Alerters fed the same
// records (two replicas) publish one message to a consumer with dedup.
func TestAlertPublishes(t *testing.T) {
	ctx := context.Background()
	pub, err := mq.Open(ctx, "mem://logship-alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	dedup, err := mq.NewMemoryDedup(100)
	if err != nil {
		t.Fatal(err)
	}
	con, err := mq.Open(ctx, "mem://logship-alerts", mq.WithDedup(dedup))
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	got := make(chan *mq.Message, 10)
	sub, err := con.Subscribe(ctx, "alerts", "pager", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var fired []Alert
	opts := AlertOptions{Publisher: pub, Topic: "alerts", OnAlert: func(a Alert) { fired = append(fired, a) }}
	r1, r2 := newAlertRig(t, opts), newAlertRig(t, opts)
	for _, rate := range append(repeatRate(60, 0.01), 0.4) {
		for _, r := range []*alertRig{r1, r2} {
			r.feed("orders", 100, rate)
			r.next()
		}
	}
	if len(fired) != 2 || fired[0].MessageID() != fired[1].MessageID() {
		t.Fatalf("OnAlert got %+v: want the same alert from both Alerters", fired)
	}
	// A last message on the same key (so the same partition, in order)
	// tells when the duplicate would have arrived.
	if err := pub.Publish(ctx, &mq.Message{Topic: "alerts", Key: "orders", ID: "last"}); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if want := fmt.Sprintf("logship-alert/orders/%d", fired[0].WindowEnd.UnixNano()); m.ID != want || m.Key != "orders" || m.Headers[HeaderService] != "orders" {
		t.Fatalf("message ID %q key %q headers %v: want ID %q, key and service header orders", m.ID, m.Key, m.Headers, want)
	}
	var al Alert
	if err := json.Unmarshal(m.Payload, &al); err != nil || al.Service != "orders" || al.Z != fired[0].Z || !al.WindowEnd.Equal(fired[0].WindowEnd) {
		t.Fatalf("payload %s (%v): want the alert %+v", m.Payload, err, fired[0])
	}
	if last := <-got; last.ID != "last" {
		t.Fatalf("second message %q: want the duplicate alert deduped", last.ID)
	}
}

func repeatRate(n int, rate float64) []float64 {
	rs := make([]float64, n)
	for i := range rs {
		rs[i] = rate
	}
	return rs
}

// TestAlertPublishFailure: a failed publish is returned, counted and
// logged; the alert is still returned and given to OnAlert.
func TestAlertPublishFailure(t *testing.T) {
	ctx := context.Background()
	pub, err := mq.Open(ctx, "mem://logship-alerts-closed")
	if err != nil {
		t.Fatal(err)
	}
	pub.Close() // every publish now fails
	var called int
	r := newAlertRig(t, AlertOptions{Publisher: pub, Topic: "alerts", Logger: quietLogger, OnAlert: func(Alert) { called++ }})
	r.run(60, map[string][2]float64{"o": {100, 0.01}})
	r.feed("o", 100, 0.5)
	r.k++
	alerts, err := r.a.Evaluate(ctx, r.stepStart(r.k))
	if len(alerts) != 1 || called != 1 || err == nil || !strings.Contains(err.Error(), `"alerts"`) {
		t.Fatalf("alerts %v, OnAlert calls %d, err %v: want the alert, one call, and an error naming the topic", alerts, called, err)
	}
}

// TestAlertOnAlertPanic: a panicking OnAlert is recovered; the other
// services' alerts are still delivered.
func TestAlertOnAlertPanic(t *testing.T) {
	var got []string
	r := newAlertRig(t, AlertOptions{Logger: quietLogger, OnAlert: func(a Alert) {
		if a.Service == "bad" {
			panic("boom")
		}
		got = append(got, a.Service)
	}})
	both := map[string][2]float64{"bad": {100, 0.01}, "good": {100, 0.01}}
	r.run(60, both)
	r.run(1, map[string][2]float64{"bad": {100, 0.9}, "good": {100, 0.9}})
	if len(r.alerts) != 2 || len(got) != 1 || got[0] != "good" {
		t.Fatalf("alerts %d, delivered %v: want both fired, good delivered", len(r.alerts), got)
	}
}

// TestAlertTelemetry checks the counters with the real SDK.
func TestAlertTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	r := newAlertRig(t, AlertOptions{MeterProvider: mp, Cooldown: time.Hour})
	r.run(60, map[string][2]float64{"a": {100, 0.01}, "b": {100, 0.01}})
	r.run(3, map[string][2]float64{"a": {100, 0.5}, "b": {100, 0.01}})
	got := alertMetrics(t, reader)
	want := map[string]int64{
		"logship.alerter.alerts/fired":    1,
		"logship.alerter.alerts/cooldown": 2,
		"logship.alerter.services":        2,
		"logship.alerter.evaluations":     63,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	r.a.Close()
	if got := alertMetrics(t, reader); len(got) != 0 {
		t.Fatalf("metrics after Close: %v", got)
	}
}

func alertMetrics(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	return otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if !strings.HasPrefix(p.Metric, "logship.alerter.") {
			return ""
		}
		if o := p.Attr("outcome"); o != "" {
			return p.Metric + "/" + o
		}
		return p.Metric
	})
}

// TestAlertBadOptions: a bad option leaves the Alerter inert and is named
// by Err, Validate and Evaluate; nothing panics.
func TestAlertBadOptions(t *testing.T) {
	pub, err := mq.Open(context.Background(), "mem://logship-alert-opts")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for field, o := range map[string]AlertOptions{
		"Window":       {Window: -time.Second},
		"Buckets":      {Buckets: -1},
		"HalfLife":     {HalfLife: -1},
		"Threshold":    {Threshold: math.NaN()},
		"MinStdDev":    {MinStdDev: math.Inf(1)},
		"MinVolume":    {MinVolume: -5},
		"MinErrorRate": {MinErrorRate: 2},
		"Warmup":       {Warmup: -1},
		"Cooldown":     {Cooldown: -time.Minute},
		"MaxServices":  {MaxServices: -1},
		"Topic":        {Publisher: pub},
		"Publisher":    {Topic: "alerts"},
	} {
		if err := o.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "AlertOptions."+field) {
			t.Errorf("%s: Validate = %v, want ErrInvalid naming the field", field, err)
		}
		a := NewAlerter(o)
		a.Observe("s", slog.LevelError, time.Now())
		if _, err := a.Evaluate(context.Background(), time.Now().Add(time.Hour)); !errors.Is(err, ErrInvalid) || a.Err() == nil {
			t.Errorf("%s: Evaluate = %v, Err = %v", field, err, a.Err())
		}
		if err := a.Close(); err != nil {
			t.Errorf("%s: Close: %v", field, err)
		}
	}
	if err := (AlertOptions{}).Validate(); err != nil {
		t.Fatalf("zero options: %v", err)
	}
}

// TestAlerterRealClock: with the real clock the Alerter evaluates by
// itself, and Close stops its goroutine (idempotently).
func TestAlerterRealClock(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := NewAlerter(AlertOptions{Window: 60 * time.Millisecond})
	deadline := time.Now().Add(30 * time.Second)
	for a.tel.evaluations.n.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no evaluation within 30 s of a 10 ms step")
		}
		time.Sleep(time.Millisecond)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Evaluate(context.Background(), time.Now().Add(time.Hour)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Evaluate after Close: %v", err)
	}
	a.Observe("s", slog.LevelError, time.Now()) // ignored, no panic
}

// TestAlertingSink: records a Sink accepted or refused for good are
// observed once; those it will be asked again for are not.
func TestAlertingSink(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	at := r.stepStart(0)
	batch := make([]Record, 5)
	for i := range batch {
		batch[i] = Record{ID: fmt.Sprint(i), Service: "s", Time: at, Level: slog.LevelError}
	}
	next := &alertFakeSink{results: []alertFakeResult{
		{err: errors.New("503")}, // the whole batch, to be retried
		{res: Result{Failures: []Failure{{Index: 1, Retryable: true}, {Index: 3, Retryable: false}}}},
	}}
	s := AlertingSink(next, r.a)
	if _, err := s.Write(context.Background(), batch); err == nil {
		t.Fatal("want the whole-batch error passed through")
	}
	res, err := s.Write(context.Background(), batch)
	if err != nil || len(res.Failures) != 2 {
		t.Fatalf("Write = %+v, %v: want next's result", res, err)
	}
	if total, errs := r.series("s").window(r.a.bucket(at)+1, 1); total != 4 || errs != 4 {
		t.Fatalf("observed %d records (%d errors), want 4: all but the retryable failure, once", total, errs)
	}
	if err := s.Close(context.Background()); err != nil || !next.closed {
		t.Fatalf("Close: %v, next closed %v", err, next.closed)
	}
	if _, err := AlertingSink(nil, r.a).Write(context.Background(), batch); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil next: Write = %v, want ErrInvalid", err)
	}
	pass := &alertFakeSink{results: []alertFakeResult{{}}}
	if _, err := AlertingSink(pass, nil).Write(context.Background(), batch); err != nil || len(pass.results) != 0 {
		t.Fatalf("nil Alerter: Write = %v, next called %v", err, len(pass.results) == 0)
	}
}

type alertFakeResult struct {
	res Result
	err error
}

type alertFakeSink struct {
	results []alertFakeResult
	closed  bool
}

func (s *alertFakeSink) Write(context.Context, []Record) (Result, error) {
	r := s.results[0]
	s.results = s.results[1:]
	return r.res, r.err
}

func (s *alertFakeSink) Close(context.Context) error { s.closed = true; return nil }

// TestAlertMessageHandler: the handler observes the records of an mq log
// topic and dead-letters what is not one.
func TestAlertMessageHandler(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	h := r.a.MessageHandler()
	at := r.stepStart(0)
	for i, lvl := range []slog.Level{slog.LevelInfo, slog.LevelError, slog.LevelError + 4} {
		m := messageFor("logs", Record{ID: fmt.Sprint(i), Service: "web", Time: at, Level: lvl, JSON: []byte(`{}`)})
		if err := h(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if total, errs := r.series("web").window(r.a.bucket(at)+1, 1); total != 3 || errs != 2 {
		t.Fatalf("observed %d records, %d errors; want 3, 2", total, errs)
	}
	if err := h(context.Background(), &mq.Message{ID: "x", Payload: []byte("not json")}); err == nil {
		t.Fatal("a message that is not a record: no error")
	}
}

// series is the rig's Alerter's series of service (fails when untracked).
func (r *alertRig) series(service string) *alertSeries {
	r.t.Helper()
	v, ok := r.a.series.Load(service)
	if !ok {
		r.t.Fatalf("service %q not tracked", service)
	}
	return v.(*alertSeries)
}

// BenchmarkAlerterObserve is the hot-path cost of a known service's
// record, from parallel goroutines.
func BenchmarkAlerterObserve(b *testing.B) {
	a := NewAlerter(AlertOptions{Now: func() time.Time { return alertT0 }})
	defer a.Close()
	at := alertT0.Add(time.Second)
	a.Observe("checkout", slog.LevelInfo, at)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		lvl := slog.LevelInfo
		if n.Add(1)%2 == 0 {
			lvl = slog.LevelError
		}
		for pb.Next() {
			a.Observe("checkout", lvl, at)
		}
	})
}

// TestAlertingSinkUnsortedFailures: a Sink that lists its Failures out of
// batch order still has its retryable failures left unobserved (they used
// to be counted now and again on the retry).
func TestAlertingSinkUnsortedFailures(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	at := r.stepStart(0)
	batch := make([]Record, 5)
	for i := range batch {
		batch[i] = Record{ID: fmt.Sprint(i), Service: "s", Time: at, Level: slog.LevelError}
	}
	next := &alertFakeSink{results: []alertFakeResult{
		{res: Result{Failures: []Failure{{Index: 3, Retryable: true}, {Index: 1, Retryable: true}}}},
	}}
	if _, err := AlertingSink(next, r.a).Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if total, _ := r.series("s").window(r.a.bucket(at)+1, 1); total != 3 {
		t.Fatalf("observed %d records, want 3: the two retryable failures are not", total)
	}
}
