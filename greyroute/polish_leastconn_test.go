package greyroute

import (
	"math/rand/v2"
	"testing"
)

// TestLeastConnectionsExact: the cheaper scan chooses what the plain one
// (every endpoint, availability first, in rotation order) does, with
// random counts, random unavailable endpoints and ties, pick after pick.
func TestLeastConnectionsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 71))
	for round := range 200 {
		n := 1 + rng.IntN(40)
		eps := endpoints(t, make([]int, n)...)
		p := LeastConnections().Build(eps).(*lcPicker)
		for range 50 {
			for _, e := range eps {
				e.state.conns.Store(int64(rng.IntN(4)))
				h := healthMax
				if rng.IntN(5) == 0 {
					h = 0 // unavailable
				}
				e.state.setHealth(h)
			}
			start := p.next.Load() % uint64(n)
			var want *Endpoint
			for i := range uint64(n) {
				e := eps[(start+i)%uint64(n)]
				if e.Available() && (want == nil || e.state.conns.Load() < want.state.conns.Load()) {
					want = e
				}
			}
			if got := p.Pick("t"); got != want {
				t.Fatalf("round %d: picked %v, want %v", round, got, want)
			}
		}
	}
}
