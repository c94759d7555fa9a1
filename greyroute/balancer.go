package greyroute

import "time"

// Balancer builds the Picker of one service version's instances. Build is
// called whenever that set changes; the Picker it returns must be safe for
// concurrent use, and its Pick should not allocate.
type Balancer interface {
	Build(eps []*Endpoint) Picker
}

// Picker chooses an endpoint for one call. It returns nil when no
// endpoint is available (every breaker open, every health score ≤ 50).
type Picker interface {
	Pick(tenant string) *Endpoint
}

// Endpoint is an instance as a balancer sees it: the instance and its
// live state, which outlives table reloads (it is kept by instance ID).
type Endpoint struct {
	inst  Instance
	state *endpointState
}

// Instance returns the endpoint's instance.
func (e *Endpoint) Instance() Instance { return e.inst }

// The live state accessors (Available, Conns, EWMA, Health) and
// endpointState are defined in endpoint.go.
var _ = time.Duration(0)
