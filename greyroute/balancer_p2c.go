package greyroute

import (
	"math"
	"slices"
	"time"
)

// forcePick is how long an endpoint may go without a latency sample
// before P2C sends it one call even though it lost the comparison: its
// average would otherwise stay stale for ever (as kratos' p2c does).
const forcePick = 3 * time.Second

// P2CEWMA returns a Balancer that draws two distinct endpoints at random
// and takes the one with the lower cost, its latency EWMA × (calls in
// progress + 1) — the power of two choices over an EWMA of load. A client
// cancellation is not a latency sample (see Balancer), so a healthy
// endpoint is not penalised for calls its clients gave up on. An endpoint
// that has had no sample for 3s is given one call to refresh its average.
func P2CEWMA() Balancer { return p2c{} }

type p2c struct{}

// Build implements Balancer.
func (p2c) Build(eps []*Endpoint) Picker { return &p2cPicker{eps: slices.Clone(eps)} }

type p2cPicker struct{ eps []*Endpoint }

// unsampledPenalty stands in for the latency of an endpoint that has no
// sample yet, per call in progress (kratos' 100µs): its first call is
// free, so a new endpoint is tried at once, but it is not flooded with
// every pick until that call's Done brings a real sample.
const unsampledPenalty = 100 * time.Microsecond

// cost is an endpoint's expected wait.
func cost(e *Endpoint) float64 {
	s := e.state
	if s.lastSample.Load() == 0 {
		return float64(unsampledPenalty) * float64(s.conns.Load())
	}
	return math.Float64frombits(s.ewma.Load()) * float64(s.conns.Load()+1)
}

// Pick implements Picker.
func (p *p2cPicker) Pick(string) *Endpoint {
	n := len(p.eps)
	switch n {
	case 0:
		return nil
	case 1:
		return scanFrom(p.eps, 0)
	}
	i := randIntN(n)
	j := randIntN(n - 1)
	if j >= i {
		j++
	}
	a, b := p.eps[i], p.eps[j]
	okA, okB := a.Available(), b.Available()
	switch {
	case okA && okB:
	case okA:
		return a
	case okB:
		return b
	default:
		return anyAvailable(p.eps)
	}
	win, lose := a, b
	if cost(b) < cost(a) {
		win, lose = b, a
	}
	if last := lose.state.lastSample.Load(); last != 0 {
		now := nowNanos()
		probe := lose.state.probeAt.Load()
		if now-max(last, probe) > int64(forcePick) && lose.state.probeAt.CompareAndSwap(probe, now) {
			return lose // one call, by the CAS, refreshes a stale average
		}
	}
	return win
}
