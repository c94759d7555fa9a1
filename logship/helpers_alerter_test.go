package logship

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// alertClock is a settable clock for the Alerter's tests.
type alertClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *alertClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *alertClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// alertT0 is a step boundary the tests start at.
var alertT0 = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// alertRig drives an Alerter through steps: records fed within a step,
// then an evaluation at the next step boundary.
type alertRig struct {
	t      testing.TB
	a      *Alerter
	clock  *alertClock
	step   time.Duration
	k      int // steps run
	carry  map[string]float64
	alerts []Alert
}

// newAlertRig starts an Alerter on a fake clock at alertT0, with a 1 m
// window of 6 buckets unless opts say otherwise.
func newAlertRig(t testing.TB, opts AlertOptions) *alertRig {
	t.Helper()
	c := &alertClock{t: alertT0}
	opts.Now = c.Now
	if opts.Window == 0 {
		opts.Window = time.Minute
	}
	if opts.Buckets == 0 {
		opts.Buckets = 6
	}
	a := NewAlerter(opts)
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &alertRig{t: t, a: a, clock: c, step: opts.Window / time.Duration(opts.Buckets), carry: map[string]float64{}}
}

// stepStart is the time step k of the rig starts at.
func (r *alertRig) stepStart(k int) time.Time { return alertT0.Add(time.Duration(k) * r.step) }

// feed observes n records of service in the current step, a fraction
// rate of them errors; fractions of an error are carried to the next
// step, so that a rate of 0.0101 over 100 records a step is exact on
// average.
func (r *alertRig) feed(service string, n int, rate float64) {
	at := r.stepStart(r.k).Add(r.step / 2)
	r.carry[service] += rate * float64(n)
	errs := int(r.carry[service])
	r.carry[service] -= float64(errs)
	for i := range n {
		lvl := slog.LevelInfo
		if i < errs {
			lvl = slog.LevelError
		}
		r.a.Observe(service, lvl, at)
	}
}

// next ends the current step: the clock moves to the next boundary and
// the Alerter evaluates. It returns the alerts fired.
func (r *alertRig) next() []Alert {
	r.t.Helper()
	r.k++
	now := r.stepStart(r.k)
	r.clock.Set(now)
	got, err := r.a.Evaluate(context.Background(), now)
	if err != nil {
		r.t.Fatalf("step %d: Evaluate: %v", r.k, err)
	}
	r.alerts = append(r.alerts, got...)
	return got
}

// run runs steps steps, feeding each service its volume and rate.
func (r *alertRig) run(steps int, feeds map[string][2]float64) {
	r.t.Helper()
	for range steps {
		for svc, f := range feeds {
			r.feed(svc, int(f[0]), f[1])
		}
		r.next()
	}
}

// alertSteps are the steps (of the rig) at which alerts fired.
func (r *alertRig) alertSteps(service string) []int {
	var ks []int
	for _, al := range r.alerts {
		if al.Service == service {
			ks = append(ks, int(al.Time.Sub(alertT0)/r.step))
		}
	}
	return ks
}
