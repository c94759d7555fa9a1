package greyroute

import (
	"slices"
	"sync/atomic"
)

// LeastConnections returns a Balancer that picks the available endpoint
// with the fewest calls in progress (picked and not yet ended by Done).
// Ties go to the first from a start that rotates on each pick, so equally
// loaded endpoints share evenly.
func LeastConnections() Balancer { return leastConn{} }

type leastConn struct{}

// Build implements Balancer.
func (leastConn) Build(eps []*Endpoint) Picker { return &lcPicker{eps: slices.Clone(eps)} }

type lcPicker struct {
	eps  []*Endpoint
	next atomic.Uint64
}

// Pick implements Picker.
func (p *lcPicker) Pick(string) *Endpoint {
	n := uint64(len(p.eps))
	if n == 0 {
		return nil
	}
	start := p.next.Add(1) - 1
	var best *Endpoint
	var bestConns int64
	var at uint64
	for i := range n {
		e := p.eps[(start+i)%n]
		if !e.Available() {
			continue
		}
		c := e.state.conns.Load()
		if best == nil || c < bestConns {
			best, bestConns, at = e, c, i
			if c == 0 {
				break // nothing beats an idle endpoint
			}
		}
	}
	if at > 0 {
		// Start the next pick after the chosen one, so the endpoint after
		// a dead one does not win its ties as well as its own.
		p.next.Add(at)
	}
	return best
}
