package greyroute

import "fmt"

// The RoundTripper's retry. A call whose connection was refused is
// retried once on another instance. Asking Pick again is not enough: a
// randomised Balancer offers the refusing instance again at chance (with
// Random over two instances, three picks in a row one time in eight), and
// the retry would give up though another instance was there. So the
// retry picks with the refusing instance excluded: when the Balancer
// offers it, the version's other endpoints are scanned instead.

// pickOther is Pick in local mode for a retry: an instance of the
// tenant's version (or the fallback, by Pick's rules) other than avoid.
func (r *Router) pickOther(tenant, service, avoid string) (Instance, error) {
	if r.closed.Load() {
		return Instance{}, fmt.Errorf("greyroute: pick service %q for tenant %q: %w", service, tenant, ErrClosed)
	}
	return r.pickLocal(tenant, service, avoid)
}

// otherThan returns an available endpoint of eps whose instance is not
// avoid, scanning from a random start so that the retries of a refused
// instance spread over the others; nil when there is none.
func otherThan(eps []*Endpoint, avoid string) *Endpoint {
	n := len(eps)
	if n == 0 {
		return nil
	}
	start := randIntN(n)
	for i := range n {
		if e := eps[(start+i)%n]; e.inst.ID != avoid && e.Available() {
			return e
		}
	}
	return nil
}
