package greyroute

import "slices"

// HealthAware returns a Balancer that picks among the available endpoints
// at random, each in proportion to its health score (51–100): an instance
// at 60 gets 60% of the share of one at 100.
func HealthAware() Balancer { return healthAware{} }

type healthAware struct{}

// Build implements Balancer.
func (healthAware) Build(eps []*Endpoint) Picker { return &healthPicker{eps: slices.Clone(eps)} }

type healthPicker struct{ eps []*Endpoint }

// healthTries bounds the rejection sampling: an available endpoint is
// accepted with probability above 1/2, so 16 tries all fail only when
// most endpoints are unavailable, and then any available one will do.
const healthTries = 16

// Pick implements Picker. It draws an endpoint uniformly and accepts it
// with probability health/100 — rejection sampling, exactly proportional
// to health and O(1) however many endpoints there are.
func (p *healthPicker) Pick(string) *Endpoint {
	n := len(p.eps)
	if n == 0 {
		return nil
	}
	for range healthTries {
		e := p.eps[randIntN(n)]
		if e.Available() && randIntN(healthMax) < e.state.health() {
			return e
		}
	}
	return scanFrom(p.eps, randIntN(n))
}
