package greyroute

import (
	"slices"
	"sync"
)

// SmoothWeightedRoundRobin returns a Balancer that shares calls by
// Instance.Weight (0 counts as 1) with nginx's smooth weighted round
// robin: each pick adds every available endpoint's weight to its current
// value, takes the highest and subtracts the total from it. Over any
// cycle each endpoint gets exactly its weight's share, interleaved — with
// weights 5, 1, 1 the order is a a b a c a a, never five a's in a row.
// Unavailable endpoints are left out of the sums until they return.
func SmoothWeightedRoundRobin() Balancer { return swrr{} }

type swrr struct{}

// Build implements Balancer.
func (swrr) Build(eps []*Endpoint) Picker {
	p := &swrrPicker{eps: slices.Clone(eps), weight: make([]int64, len(eps)), cur: make([]int64, len(eps))}
	for i, e := range p.eps {
		p.weight[i] = int64(max(e.inst.Weight, 1))
	}
	return p
}

// swrrPicker keeps the current values under a mutex: the algorithm reads
// and writes all of them on each pick.
type swrrPicker struct {
	mu     sync.Mutex
	eps    []*Endpoint
	weight []int64
	cur    []int64
}

// Pick implements Picker.
func (p *swrrPicker) Pick(string) *Endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	var total int64
	best := -1
	for i, e := range p.eps {
		if !e.Available() {
			continue
		}
		p.cur[i] += p.weight[i]
		total += p.weight[i]
		if best < 0 || p.cur[i] > p.cur[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	p.cur[best] -= total
	return p.eps[best]
}
