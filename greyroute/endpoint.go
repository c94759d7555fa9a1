package greyroute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/internal/breaker"
	"github.com/groundwork-go/groundwork/resilience"
)

// Health scores: an endpoint whose score is at or below healthMin is not
// available. Done moves a local score between healthDoneFloor and 100 —
// never to healthMin or below, because an endpoint that is never picked
// would never earn its way back: taking a failing instance out is the
// breaker's job (it probes and recovers), a score ≤ 50 comes only from the
// table (the Admin API or an external health checker).
const (
	healthMax       = 100
	healthMin       = 50
	healthDoneFloor = healthMin + 1
	healthFailStep  = 5
	healthOKStep    = 1
)

// ewmaTau is the time constant of the latency EWMA: a sample's weight is
// 1 − e^(−Δt/τ), Δt the time since the previous sample, so an idle
// endpoint's old latency counts for little against a fresh one (the decay
// of Finagle's and kratos' p2c; 600ms as in kratos).
const ewmaTau = 600 * time.Millisecond

// epoch anchors the package's monotonic nanosecond clock.
var epoch = time.Now()

// monoNanos is the real monotonic clock, in nanoseconds since epoch. The
// breaker's open period uses it, as gobreaker itself reads time.Now.
func monoNanos() int64 { return int64(time.Since(epoch)) }

// nowNanos is the clock of the latency EWMA and of P2C's forced probes; a
// variable so tests drive it (export_test.go) instead of sleeping.
var nowNanos = monoNanos

// errDeadline stands in for context.DeadlineExceeded when a result goes to
// the breaker: the shared breaker excludes deadline errors, but here a
// call that ran out of time is the instance being slow, a failure.
var errDeadline = errors.New("greyroute: call deadline exceeded")

// testHookProbe, when set by a test, runs in acquire between reading the
// half-open state and taking a probe slot: the window a transition can
// fall into.
var testHookProbe func(*endpointState)

// ticket ties a Done to the pick it ends: the breaker generation the pick
// saw (0: unknown, the result counts against the current state) and
// whether the pick took a half-open probe slot.
type ticket struct {
	gen   uint64
	probe bool
	seq   uint64 // the pick's number in its endpoint's doneTracker
	slot  uint32 // its slot there + 1; 0: untracked (see endpoint_once.go)
}

// endpointState is the live state of one instance, shared by every table
// snapshot that lists it. Everything a Pick reads is an atomic, so Picks
// take no lock; Done feeds the breaker, which takes gobreaker's mutex.
type endpointState struct {
	conns       atomic.Int64  // picks not yet ended by Done
	ewma        atomic.Uint64 // latency EWMA in ns, float64 bits
	lastSample  atomic.Int64  // nowNanos of the last EWMA sample; 0: none yet
	probeAt     atomic.Int64  // nowNanos of P2C's last forced probe
	tableHealth atomic.Int32  // score from the table, 0–100
	localHealth atomic.Int32  // score fed by Done, healthDoneFloor–100

	br          *breaker.Breaker
	brState     atomic.Int32  // mirror of the breaker's state (resilience.BreakerState)
	gen         atomic.Uint64 // bumped on every breaker transition
	openUntil   atomic.Int64  // monoNanos at which an open breaker may half-open
	probes      atomic.Uint64 // half-open probe slots: generation<<16 | slots taken
	failStreak  atomic.Int32  // failures told to the breaker since its last success or transition
	ratio       bool          // the policy trips on a failure ratio: every success must be counted
	maxProbes   uint64        // 1–maxProbeSlots
	openTimeout int64
	done        doneTracker // picks whose Done has not come (endpoint_once.go)
}

// newEndpointState builds the state of the instance named name (the
// breaker's name) with breaker policy p.
func newEndpointState(name string, p resilience.BreakerPolicy) (*endpointState, error) {
	s := &endpointState{
		maxProbes:   uint64(min(max(p.HalfOpenProbes, 1), maxProbeSlots)),
		openTimeout: int64(cmp.Or(p.OpenTimeout, 5*time.Second)), // breaker.New's default
		ratio:       p.FailureRatio > 0,
	}
	s.tableHealth.Store(healthMax)
	s.localHealth.Store(healthMax)
	s.gen.Store(1)
	user := p.OnStateChange
	p.OnStateChange = func(name string, from, to resilience.BreakerState) {
		s.onState(to)
		if user != nil {
			user(name, from, to)
		}
	}
	br, err := breaker.New(name, p, nil)
	if err != nil {
		return nil, fmt.Errorf("greyroute: endpoint %q: %w: %w", name, ErrInvalid, err)
	}
	s.br = br
	return s, nil
}

// maxProbeSlots bounds HalfOpenProbes to the 16 bits the slot count has.
const maxProbeSlots = 1<<16 - 1

// onState mirrors a breaker transition into atomics Picks can read. It
// runs under gobreaker's mutex. The generation moves first and the state
// last, so a pick that reads the state and then the generation never
// pairs a new state with an old generation. The probe slots carry their
// half-open period's generation, so a pick that raced a transition cannot
// take (or hand back) a slot of a later period.
func (s *endpointState) onState(to resilience.BreakerState) {
	g := s.gen.Add(1)
	s.failStreak.Store(0) // gobreaker clears its counts on every transition
	switch to {
	case resilience.StateOpen:
		s.openUntil.Store(monoNanos() + s.openTimeout)
	case resilience.StateHalfOpen:
		s.probes.Store(g << 16)
	}
	s.brState.Store(int32(to))
}

// probeFree reports whether a probe slot of the current half-open period
// is free.
func (s *endpointState) probeFree() bool {
	v := s.probes.Load()
	return v>>16 == s.gen.Load() && v&maxProbeSlots < s.maxProbes
}

// health is the lower of the table's score and the local one.
func (s *endpointState) health() int {
	return int(min(s.tableHealth.Load(), s.localHealth.Load()))
}

// setHealth records the table's score for the instance, clamped to 0–100.
func (s *endpointState) setHealth(score int) {
	s.tableHealth.Store(int32(min(max(score, 0), healthMax)))
}

// available reports whether a pick may choose the endpoint: health above
// healthMin and the breaker closed, or half-open with a probe slot free.
// An open breaker whose period has passed is moved to half-open here:
// gobreaker only changes state when it is asked.
func (s *endpointState) available() bool {
	if s.health() <= healthMin {
		return false
	}
	switch resilience.BreakerState(s.brState.Load()) {
	case resilience.StateClosed:
		return true
	case resilience.StateHalfOpen:
		return s.probeFree()
	}
	if monoNanos() < s.openUntil.Load() {
		return false
	}
	s.br.State() // half-opens an expired breaker; onState updates the mirror
	return resilience.BreakerState(s.brState.Load()) == resilience.StateHalfOpen && s.probeFree()
}

// acquire starts a call on the endpoint a Picker chose: it counts the
// connection and, while the breaker is half-open, takes a probe slot. It
// fails when the breaker is open or every probe slot is taken (another
// pick got there first): the caller picks again.
func (s *endpointState) acquire() (ticket, bool) {
	st := resilience.BreakerState(s.brState.Load())
	g := s.gen.Load() // after the state: see onState
	switch st {
	case resilience.StateOpen:
		return ticket{}, false
	case resilience.StateHalfOpen:
		if testHookProbe != nil {
			testHookProbe(s)
		}
		for {
			v := s.probes.Load()
			if v>>16 != g || v&maxProbeSlots >= s.maxProbes {
				return ticket{}, false // all taken, or the period ended meanwhile
			}
			if s.probes.CompareAndSwap(v, v+1) {
				break
			}
		}
		s.conns.Add(1)
		return ticket{gen: g, probe: true}, true
	}
	s.conns.Add(1)
	return ticket{gen: g}, true
}

// release ends the call acquire started. The connection count drops by
// one (never below zero, so a Done too many cannot make it negative). A
// call the client cancelled says nothing about the instance: no breaker
// count, no latency sample, no health change, and a probe slot it held is
// handed back. Any other error is a failure — a deadline too, the instance
// was slow. A result whose pick saw an older breaker generation is kept
// from the breaker (gobreaker drops such results the same way), since it
// describes the instance before the breaker's last transition.
func (s *endpointState) release(tk ticket, err error, latency time.Duration) {
	for {
		n := s.conns.Load()
		if n <= 0 || s.conns.CompareAndSwap(n, n-1) {
			break
		}
	}
	if errors.Is(err, context.Canceled) {
		for tk.probe {
			v := s.probes.Load()
			if v>>16 != tk.gen || v&maxProbeSlots == 0 || s.probes.CompareAndSwap(v, v-1) {
				break
			}
		}
		return
	}
	s.sample(latency)
	s.nudgeHealth(err == nil)
	if tk.gen != 0 && tk.gen != s.gen.Load() {
		return
	}
	if err == nil {
		// A success after successes, in a closed breaker that only counts
		// consecutive failures, changes nothing it reads: skip its mutex
		// and two clock reads, most of a Done's cost.
		if !s.ratio && s.failStreak.Load() == 0 && resilience.BreakerState(s.brState.Load()) == resilience.StateClosed {
			return
		}
		s.failStreak.Store(0)
	} else {
		s.failStreak.Add(1)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = errDeadline
	}
	_ = s.br.Do(func() error { return err }) // ErrOpen: the breaker opened meanwhile; the result is moot
}

// sample adds a latency to the EWMA, weighting it by the time since the
// previous sample.
func (s *endpointState) sample(latency time.Duration) {
	x := float64(max(latency, 0))
	now := nowNanos()
	last := s.lastSample.Swap(now)
	w := 0.0 // first sample: it is the average
	if last != 0 {
		w = math.Exp(-float64(max(now-last, 0)) / float64(ewmaTau))
	}
	for {
		old := s.ewma.Load()
		v := math.Float64frombits(old)*w + x*(1-w)
		if s.ewma.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// nudgeHealth moves the local score up a little on success and down more
// on failure, within healthDoneFloor–100.
func (s *endpointState) nudgeHealth(ok bool) {
	for {
		h := s.localHealth.Load()
		n := max(h-healthFailStep, healthDoneFloor)
		if ok {
			n = min(h+healthOKStep, healthMax)
		}
		if n == h || s.localHealth.CompareAndSwap(h, n) {
			return
		}
	}
}

// NewEndpoint returns a standalone endpoint for inst with the default
// breaker policy: for testing or benchmarking a Balancer outside a Router.
// The Router makes its own endpoints, whose state outlives table reloads.
func NewEndpoint(inst Instance) *Endpoint {
	// The zero policy always validates; were it ever refused, the nil state
	// makes an endpoint that is never available rather than a panic.
	s, _ := newEndpointState(inst.Service+"/"+inst.ID, resilience.BreakerPolicy{})
	return &Endpoint{inst: inst, state: s}
}

// Available reports whether a Picker may choose the endpoint: its breaker
// is closed (or half-open with a probe slot free) and its health score is
// above 50.
func (e *Endpoint) Available() bool { return e.state != nil && e.state.available() }

// Conns returns the number of calls picked on the endpoint and not yet
// ended by Done.
func (e *Endpoint) Conns() int64 {
	if e.state == nil {
		return 0
	}
	return e.state.conns.Load()
}

// EWMA returns the endpoint's latency average (0 before the first
// sample). A sample's weight grows with the time since the previous one
// (time constant 600ms), so an average from long ago soon gives way.
func (e *Endpoint) EWMA() time.Duration {
	if e.state == nil {
		return 0
	}
	return time.Duration(math.Float64frombits(e.state.ewma.Load()))
}

// Health returns the endpoint's health score, 0–100 (100 until told
// otherwise): the lower of the score in the table and the one Done keeps.
func (e *Endpoint) Health() int {
	if e.state == nil {
		return 0
	}
	return e.state.health()
}

// Breaker returns the state of the endpoint's circuit breaker as of its
// last transition: an open breaker whose open period has passed reads
// open until a Pick (Available) moves it to half-open.
func (e *Endpoint) Breaker() resilience.BreakerState {
	if e.state == nil {
		return resilience.StateClosed
	}
	return resilience.BreakerState(e.state.brState.Load())
}
