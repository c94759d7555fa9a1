package greyroute

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

var errBoom = errors.New("boom")

func newTestEndpoint(t testing.TB, id string, p resilience.BreakerPolicy) *Endpoint {
	t.Helper()
	s, err := newEndpointState("svc/"+id, p)
	if err != nil {
		t.Fatal(err)
	}
	return &Endpoint{inst: Instance{ID: id, Service: "svc", Version: "v1", Addr: id + ":80"}, state: s}
}

// call runs one pick → done cycle on e.
func call(t testing.TB, e *Endpoint, err error, latency time.Duration) {
	t.Helper()
	tk, ok := e.state.acquire()
	if !ok {
		t.Fatalf("%s: acquire refused (breaker %v)", e.inst.ID, e.Breaker())
	}
	e.state.release(tk, err, latency)
}

// mustAcquire acquires e, failing the test with msg when it cannot.
func mustAcquire(t *testing.T, e *Endpoint, msg string) ticket {
	t.Helper()
	tk, ok := e.state.acquire()
	if !ok {
		t.Fatal(msg)
	}
	return tk
}

// waitHalfOpen polls Available, which is what moves an expired open
// breaker on, until the breaker is half-open; generous deadline, no sleep
// of a fixed length.
func waitHalfOpen(t *testing.T, e *Endpoint) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.Breaker() != resilience.StateHalfOpen {
		e.Available()
		if time.Now().After(deadline) {
			t.Fatalf("breaker never half-opened (state %v)", e.Breaker())
		}
	}
}

func TestNewEndpointDefaults(t *testing.T) {
	e := NewEndpoint(Instance{ID: "a", Service: "svc"})
	if !e.Available() || e.Health() != 100 || e.Conns() != 0 || e.EWMA() != 0 || e.Breaker() != resilience.StateClosed {
		t.Fatalf("fresh endpoint: available=%v health=%d conns=%d ewma=%v breaker=%v",
			e.Available(), e.Health(), e.Conns(), e.EWMA(), e.Breaker())
	}
	var zero Endpoint // a zero Endpoint is never available and never panics
	if zero.Available() || zero.Conns() != 0 || zero.EWMA() != 0 || zero.Health() != 0 || zero.Breaker() != resilience.StateClosed {
		t.Fatal("zero Endpoint reports state")
	}
}

func TestEndpointBadPolicy(t *testing.T) {
	_, err := newEndpointState("svc/a", resilience.BreakerPolicy{FailureRatio: 2})
	if !errors.Is(err, ErrInvalid) || err == nil {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestBreakerOpensAfterFailures(t *testing.T) {
	var seen []resilience.BreakerState
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour,
		OnStateChange: func(_ string, _, to resilience.BreakerState) { seen = append(seen, to) }})
	call(t, e, errBoom, time.Millisecond)
	call(t, e, errBoom, time.Millisecond)
	if !e.Available() {
		t.Fatal("unavailable after 2 of 3 failures")
	}
	call(t, e, errBoom, time.Millisecond)
	if e.Available() || e.Breaker() != resilience.StateOpen {
		t.Fatalf("after 3 failures: available=%v breaker=%v", e.Available(), e.Breaker())
	}
	if _, ok := e.state.acquire(); ok {
		t.Fatal("acquire on an open breaker succeeded")
	}
	if fmt.Sprint(seen) != "[open]" {
		t.Fatalf("user OnStateChange saw %v", seen)
	}
	for _, b := range allBalancers() {
		p := b.bal.Build([]*Endpoint{e})
		if got := p.Pick("t"); got != nil {
			t.Errorf("%s picked an endpoint whose breaker is open", b.name)
		}
	}
}

func TestBreakerHalfOpenLimitsProbes(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Nanosecond, HalfOpenProbes: 2})
	call(t, e, errBoom, time.Millisecond)
	waitHalfOpen(t, e)

	t1, ok1 := e.state.acquire()
	t2, ok2 := e.state.acquire()
	if !ok1 || !ok2 || !t1.probe || !t2.probe {
		t.Fatalf("two probes: %v %v %+v %+v", ok1, ok2, t1, t2)
	}
	if e.Available() {
		t.Fatal("available with both probe slots taken")
	}
	if _, ok := e.state.acquire(); ok {
		t.Fatal("a third probe was let through")
	}
	// A cancelled probe says nothing: its slot goes to another call.
	e.state.release(t2, context.Canceled, time.Millisecond)
	if !e.Available() || e.Breaker() != resilience.StateHalfOpen {
		t.Fatalf("after a cancelled probe: available=%v breaker=%v", e.Available(), e.Breaker())
	}
	t3 := mustAcquire(t, e, "the freed probe slot was not reusable")
	e.state.release(t1, nil, time.Millisecond)
	if e.Breaker() != resilience.StateHalfOpen {
		t.Fatalf("closed after 1 of 2 probe successes: %v", e.Breaker())
	}
	e.state.release(t3, nil, time.Millisecond)
	if e.Breaker() != resilience.StateClosed || !e.Available() {
		t.Fatalf("after 2 probe successes: breaker=%v", e.Breaker())
	}
}

func TestBreakerHalfOpenProbeFailureReopens(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Nanosecond})
	call(t, e, errBoom, time.Millisecond)
	waitHalfOpen(t, e)
	genHalf := e.state.gen.Load()
	call(t, e, errBoom, time.Millisecond)
	if e.state.gen.Load() == genHalf {
		t.Fatal("a failed probe did not move the breaker (expected half-open → open)")
	}
}

// TestStaleResultKeptFromBreaker: a call picked while the breaker was
// closed and ended after it opened and half-opened must not count as the
// probe's result.
func TestStaleResultKeptFromBreaker(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Nanosecond})
	old, _ := e.state.acquire()
	call(t, e, errBoom, time.Millisecond) // opens
	waitHalfOpen(t, e)
	probe := mustAcquire(t, e, "no probe")
	e.state.release(old, nil, time.Millisecond)
	if e.Breaker() != resilience.StateHalfOpen {
		t.Fatalf("a stale success moved the breaker to %v", e.Breaker())
	}
	e.state.release(probe, nil, time.Millisecond)
	if e.Breaker() != resilience.StateClosed {
		t.Fatalf("the probe's success left the breaker %v", e.Breaker())
	}
}

func TestCancellationIsNeitherSuccessNorFailure(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
	for _, err := range []error{context.Canceled, fmt.Errorf("call: %w", context.Canceled)} {
		for range 100 {
			call(t, e, err, time.Second)
		}
	}
	if e.Breaker() != resilience.StateClosed || !e.Available() {
		t.Fatalf("cancellations opened the breaker: %v", e.Breaker())
	}
	if e.EWMA() != 0 || e.state.lastSample.Load() != 0 {
		t.Fatalf("cancellations were latency samples: ewma %v", e.EWMA())
	}
	if e.Health() != 100 || e.Conns() != 0 {
		t.Fatalf("after cancellations: health %d conns %d", e.Health(), e.Conns())
	}
	// A deadline is the instance being slow: it counts.
	call(t, e, context.DeadlineExceeded, time.Second)
	if e.Breaker() != resilience.StateOpen {
		t.Fatalf("a deadline did not count as a failure: %v", e.Breaker())
	}
}

func TestConnsDecrementOncePerPick(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{})
	var tks []ticket
	for range 3 {
		tk, _ := e.state.acquire()
		tks = append(tks, tk)
	}
	if e.Conns() != 3 {
		t.Fatalf("conns %d, want 3", e.Conns())
	}
	e.state.release(tks[0], nil, 0)
	e.state.release(tks[1], context.Canceled, 0) // cancelled calls end too
	if e.Conns() != 1 {
		t.Fatalf("conns %d, want 1", e.Conns())
	}
	e.state.release(tks[2], errBoom, 0)
	e.state.release(tks[2], errBoom, 0) // a Done too many
	if e.Conns() != 0 {
		t.Fatalf("conns %d after a Done too many, want 0", e.Conns())
	}

	// Concurrent picks and dones balance out.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				tk, ok := e.state.acquire()
				if ok {
					e.state.release(tk, nil, time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	if e.Conns() != 0 {
		t.Fatalf("conns %d after balanced concurrent calls", e.Conns())
	}
}

func TestEWMADecay(t *testing.T) {
	clk := useFakeClock(t)
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{})
	call(t, e, nil, 100*time.Millisecond)
	if e.EWMA() != 100*time.Millisecond {
		t.Fatalf("first sample: ewma %v", e.EWMA())
	}
	clk.advance(int64(ewmaTau)) // one time constant: the old value keeps e^-1
	call(t, e, nil, 200*time.Millisecond)
	want := 100*math.Exp(-1) + 200*(1-math.Exp(-1))
	if got := float64(e.EWMA()) / float64(time.Millisecond); math.Abs(got-want) > 1e-6 {
		t.Fatalf("ewma %.6fms, want %.6fms", got, want)
	}
	clk.advance(int64(100 * ewmaTau)) // long idle: the next sample is nearly all
	call(t, e, nil, 10*time.Millisecond)
	if got := e.EWMA(); got < 10*time.Millisecond || got > 10*time.Millisecond+time.Microsecond {
		t.Fatalf("after a long idle: ewma %v, want ≈10ms", got)
	}
	call(t, e, errBoom, -time.Second) // a negative latency is taken as 0, not subtracted
	if e.EWMA() < 0 {
		t.Fatalf("negative ewma %v", e.EWMA())
	}
}

func TestHealth(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{Disabled: true})
	for range 50 {
		call(t, e, errBoom, time.Millisecond)
	}
	if e.Health() != healthDoneFloor || !e.Available() {
		t.Fatalf("Done alone took health to %d (available %v): only the table may go to ≤50", e.Health(), e.Available())
	}
	for range 100 {
		call(t, e, nil, time.Millisecond)
	}
	if e.Health() != 100 {
		t.Fatalf("successes brought health back to %d", e.Health())
	}
	e.state.setHealth(50)
	if e.Available() || e.Health() != 50 {
		t.Fatalf("table health 50: available=%v", e.Available())
	}
	e.state.setHealth(-7)
	if e.Health() != 0 {
		t.Fatalf("setHealth(-7) → %d", e.Health())
	}
	e.state.setHealth(1000)
	if e.Health() != 100 || !e.Available() {
		t.Fatalf("setHealth(1000) → %d", e.Health())
	}
}

// TestProbeSlotsBelongToTheirPeriod: a pick that read "half-open" and
// then lost the race to a failed probe (half-open → open → half-open
// again) must not take a slot of the new period, and a cancelled probe
// of an old period must not hand one back to the new period; either
// would leave the new period with the wrong number of probes — with one
// slot, a slot taken by a stale pick was never handed back and the
// endpoint stayed unavailable.
func TestProbeSlotsBelongToTheirPeriod(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Nanosecond})
	call(t, e, errBoom, time.Millisecond)
	waitHalfOpen(t, e)

	testHookProbe = func(s *endpointState) { // the period ends and a new one starts
		testHookProbe = nil
		s.onState(resilience.StateOpen)
		s.onState(resilience.StateHalfOpen)
	}
	t.Cleanup(func() { testHookProbe = nil })
	if _, ok := e.state.acquire(); ok {
		t.Fatal("a pick of an ended half-open period took a probe slot")
	}
	if !e.Available() {
		t.Fatal("the new half-open period has no free probe slot")
	}

	old := mustAcquire(t, e, "no probe")
	e.state.onState(resilience.StateOpen)
	e.state.onState(resilience.StateHalfOpen)
	cur := mustAcquire(t, e, "no probe in the new period")
	e.state.release(old, context.Canceled, time.Millisecond)
	if e.Available() {
		t.Fatal("a cancelled probe of an old period freed a slot of the new one")
	}
	e.state.release(cur, context.Canceled, time.Millisecond)
	if !e.Available() {
		t.Fatal("the current probe's cancellation did not free its slot")
	}
}

// TestSuccessesReachTheBreakerWhenTheyMatter: Done skips the breaker for a
// success after successes; a success that breaks a run of failures, and
// every success under a failure-ratio policy, must still be counted.
func TestSuccessesReachTheBreakerWhenTheyMatter(t *testing.T) {
	e := newTestEndpoint(t, "a", resilience.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour})
	for _, err := range []error{nil, nil, errBoom, errBoom, nil, errBoom, errBoom, nil, nil, errBoom, errBoom} {
		call(t, e, err, time.Millisecond)
	}
	if e.Breaker() != resilience.StateClosed {
		t.Fatal("a success between failures was not counted: 2+2+2 failures opened a 3-in-a-row breaker")
	}
	call(t, e, errBoom, time.Millisecond)
	if e.Breaker() != resilience.StateOpen {
		t.Fatal("3 failures in a row did not open the breaker")
	}

	r := newTestEndpoint(t, "b", resilience.BreakerPolicy{FailureRatio: 0.5, MinRequests: 4, OpenTimeout: time.Hour})
	for _, err := range []error{nil, nil, errBoom, errBoom} {
		call(t, r, err, time.Millisecond)
	}
	if r.Breaker() != resilience.StateOpen {
		t.Fatal("under a ratio policy the successes were not counted: 2 of 4 failed and it stayed closed")
	}
}
