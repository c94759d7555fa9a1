package greyroute

import (
	"slices"
	"sync"
	"sync/atomic"
)

// SmoothWeightedRoundRobin returns a Balancer that shares calls by
// Instance.Weight (0 or less counts as 1, more than 2^20 as 2^20) with nginx's smooth weighted round
// robin: each pick adds every endpoint's weight to its current value,
// takes the highest and subtracts the total from it. Over any cycle each
// endpoint gets exactly its weight's share, interleaved — with weights 5,
// 1, 1 the order is a a b a c a a, never five a's in a row. Unavailable
// endpoints are passed over and their turns dropped from the cycle, so the
// others keep their weights' proportions.
//
// The cycle is computed once per Build (when Σweight × endpoints is at
// most swrrScheduleLimit, as it is for any usual weights), so a Pick is
// an atomic counter and a lookup; larger weight sets run the algorithm
// live under a mutex.
func SmoothWeightedRoundRobin() Balancer { return swrr{} }

type swrr struct{}

// swrrScheduleLimit bounds the work (and memory: 4 bytes per turn) of
// precomputing a cycle: Σweight × endpoints. A variable so tests run the
// live path too.
var swrrScheduleLimit = 1 << 22

// maxWeight caps Instance.Weight for the weighted balancer, so sums of
// weights cannot overflow: a share a million times another's is as good
// as any larger one.
const maxWeight = 1 << 20

// Build implements Balancer.
func (swrr) Build(eps []*Endpoint) Picker {
	live, total := newSWRRLive(eps)
	if len(eps) == 0 || total*int64(len(eps)) > int64(swrrScheduleLimit) {
		return live
	}
	// Run the algorithm for one whole cycle, with every endpoint in it.
	sched := make([]uint32, total)
	for k := range sched {
		sched[k] = uint32(live.step(func(int) bool { return true }))
	}
	return &swrrSchedule{eps: live.eps, sched: sched}
}

// swrrSchedule replays a precomputed cycle.
type swrrSchedule struct {
	eps   []*Endpoint
	sched []uint32 // endpoint index per turn
	next  atomic.Uint64
}

// Pick implements Picker.
func (p *swrrSchedule) Pick(string) *Endpoint {
	n := uint64(len(p.sched))
	start := p.next.Add(1) - 1
	for k := range n {
		if e := p.eps[p.sched[(start+k)%n]]; e.Available() {
			if k > 0 {
				// Skip the passed-over turns for good: the cycle without
				// them keeps the available endpoints' proportions.
				p.next.Add(k)
			}
			return e
		}
	}
	return nil
}

// newSWRRLive returns the live picker over eps and the sum of weights.
func newSWRRLive(eps []*Endpoint) (*swrrLive, int64) {
	p := &swrrLive{eps: slices.Clone(eps), weight: make([]int64, len(eps)), cur: make([]int64, len(eps))}
	var total int64
	for i, e := range p.eps {
		p.weight[i] = int64(min(max(e.inst.Weight, 1), maxWeight))
		total += p.weight[i]
	}
	return p, total
}

// swrrLive runs the algorithm on each pick, under a mutex: it reads and
// writes every current value.
type swrrLive struct {
	mu     sync.Mutex
	eps    []*Endpoint
	weight []int64
	cur    []int64
}

// Pick implements Picker.
func (p *swrrLive) Pick(string) *Endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := p.step(func(i int) bool { return p.eps[i].Available() }); i >= 0 {
		return p.eps[i]
	}
	return nil
}

// step is one round of nginx's algorithm over the endpoints ok admits:
// the index chosen, or -1 when it admits none. Callers hold p.mu or own p.
func (p *swrrLive) step(ok func(int) bool) int {
	var total int64
	best := -1
	for i := range p.eps {
		if !ok(i) {
			continue
		}
		p.cur[i] += p.weight[i]
		total += p.weight[i]
		if best < 0 || p.cur[i] > p.cur[best] {
			best = i
		}
	}
	if best >= 0 {
		p.cur[best] -= total
	}
	return best
}
