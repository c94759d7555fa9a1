package greyroute

import "math/rand/v2"

// Balancer builds the Picker of one service version's instances. Build is
// called whenever that set changes, with the endpoints in instance-ID
// order; the Picker it returns must be safe for concurrent use, and its
// Pick should not allocate. The built-in balancers pass over endpoints
// that are not Available — breaker open, or half-open with its probe
// slots taken, or health ≤ 50 — and share their turn among the rest.
//
// What a balancer sees comes from Done: each Pick counts a call in
// progress until its Done; a nil error is a success; context.Canceled
// (the client gave up) is neither a success nor a failure — no breaker
// count, no latency sample; any other error, a deadline included, is a
// failure.
type Balancer interface {
	Build(eps []*Endpoint) Picker
}

// Picker chooses an endpoint for one call. It returns nil when no
// endpoint is available (every breaker open, every health score ≤ 50).
type Picker interface {
	Pick(tenant string) *Endpoint
}

// Endpoint is an instance as a balancer sees it: the instance and its
// live state, which outlives table reloads (it is kept by instance ID):
// Available, Breaker, Conns, EWMA and Health read it.
type Endpoint struct {
	inst  Instance
	state *endpointState
}

// Instance returns the endpoint's instance.
func (e *Endpoint) Instance() Instance { return e.inst }

// randUint64 is the balancers' source of randomness: math/rand/v2's
// runtime source (per-thread, lock-free, no allocation); tests swap in a
// seeded one (export_test.go) so distributions are reproducible.
var randUint64 = rand.Uint64

// randIntN returns a number in [0,n) for 0 < n < 2^32 by Lemire's
// multiply-shift; the bias, n/2^32, is far below anything a balancer
// could show.
func randIntN(n int) int {
	return int((randUint64() >> 32) * uint64(n) >> 32)
}

// scanFrom returns the first available endpoint from eps[start] on,
// wrapping around, or nil: the fallback of the randomised pickers when
// their random tries found nothing available.
func scanFrom(eps []*Endpoint, start int) *Endpoint {
	n := len(eps)
	for i := range n {
		if e := eps[(start+i)%n]; e.Available() {
			return e
		}
	}
	return nil
}
