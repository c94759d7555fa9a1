package greyroute

import "slices"

// Random returns a Balancer that picks an endpoint uniformly at random
// among the available ones.
func Random() Balancer { return random{} }

type random struct{}

// Build implements Balancer.
func (random) Build(eps []*Endpoint) Picker { return &randomPicker{eps: slices.Clone(eps)} }

type randomPicker struct{ eps []*Endpoint }

// randomTries is how many random draws a randomised picker makes before
// it scans for any available endpoint: with most endpoints available the
// draws almost always succeed, and then the choice is exactly uniform.
const randomTries = 4

// Pick implements Picker.
func (p *randomPicker) Pick(string) *Endpoint {
	return anyAvailable(p.eps)
}

// anyAvailable returns an available endpoint chosen uniformly at random,
// or nil. Random draws first, so a dead endpoint's share is spread evenly
// over the rest; only if they all miss does it scan, from a random start.
func anyAvailable(eps []*Endpoint) *Endpoint {
	n := len(eps)
	if n == 0 {
		return nil
	}
	for range randomTries {
		if e := eps[randIntN(n)]; e.Available() {
			return e
		}
	}
	return scanFrom(eps, randIntN(n))
}
