package greyroute

import (
	"slices"
	"sync/atomic"
)

// RoundRobin returns a Balancer that takes the endpoints in turn, in
// instance-ID order, skipping unavailable ones: each available endpoint
// gets an equal share, and a skipped one's turn goes to the next, not to
// the same neighbour every time.
func RoundRobin() Balancer { return roundRobin{} }

type roundRobin struct{}

// Build implements Balancer.
func (roundRobin) Build(eps []*Endpoint) Picker { return &rrPicker{eps: slices.Clone(eps)} }

type rrPicker struct {
	eps  []*Endpoint
	next atomic.Uint64
}

// Pick implements Picker.
func (p *rrPicker) Pick(string) *Endpoint {
	n := uint64(len(p.eps))
	if n == 0 {
		return nil
	}
	start := p.next.Add(1) - 1
	for i := range n {
		if e := p.eps[(start+i)%n]; e.Available() {
			if i > 0 {
				// Move the counter past the skipped ones, so the endpoint
				// after a dead one does not take its turn as well as its own.
				p.next.Add(i)
			}
			return e
		}
	}
	return nil
}
