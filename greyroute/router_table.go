package greyroute

import (
	"sync/atomic"
	"time"
)

// svcTable is one service's table as a Router holds it: immutable once
// built, swapped whole behind an atomic.Pointer, so Picks read it without
// locks.
type svcTable struct {
	rev      int64
	route    route
	fallback string            // WithFallbackVersion, else the table's
	versions map[string]Picker // version → the Balancer's Picker over its live instances

	// The Pickers of the stable version and the rollout target, which
	// most Picks resolve to, beside the map: a Pick spares a map read.
	stableP, rolloutP Picker
	canary            *rollbackWindow // the rollout target's auto-rollback window; nil: none or off
	expires           time.Time       // the earliest expiry of its instances; zero: none (router_expiry.go)

	// eps is each version's endpoints, by ID, as its Picker got them:
	// the RoundTripper's retry scans them (otherThan).
	eps map[string][]*Endpoint
}

// svcSlot holds a service's current table.
type svcSlot struct{ t atomic.Pointer[svcTable] }

// schemaTable is the tenants' recorded schemas at one rev.
type schemaTable struct {
	rev int64
	m   map[string]int
}

// buildTable turns a Table read from Redis into the Router's form. The
// endpoints' live state (breaker, EWMA, connections) is taken from
// r.states by instance ID, so it survives the reload; instances gone from
// the table lose theirs. Called with r.mu held.
func (r *Router) buildTable(t Table, now time.Time) *svcTable {
	st := &svcTable{
		rev:      t.Rev,
		route:    route{stable: t.Stable, rolloutTo: t.RolloutTo, rolloutBP: t.RolloutBP, pins: t.Pins, schemaReq: t.SchemaReq},
		fallback: t.Fallback,
		versions: map[string]Picker{},
		eps:      map[string][]*Endpoint{},
		canary:   r.canaryWindow(t),
	}
	if fb, ok := r.cfg.router.fallback[t.Service]; ok {
		st.fallback = fb
	}
	prev := r.states[t.Service]
	next := make(map[string]*endpointState, len(t.Instances))
	byVersion := map[string][]*Endpoint{}
	for _, inst := range t.Instances { // sorted by ID
		if exp, ok := t.Expires[inst.ID]; ok && !exp.After(now) {
			continue // expired by the Router's clock since it was read
		}
		st.holdExpiry(t.Expires[inst.ID])
		s := prev[inst.ID]
		if s == nil {
			var err error
			if s, err = newEndpointState(t.Service+"/"+inst.ID, r.breakerPolicy(t.Service, inst.ID)); err != nil {
				continue // the policy was validated by WithBreaker: unreachable
			}
		}
		h, ok := t.Health[inst.ID]
		if !ok {
			h = healthMax
		}
		s.setHealth(h)
		next[inst.ID] = s
		byVersion[inst.Version] = append(byVersion[inst.Version], &Endpoint{inst: inst, state: s})
	}
	r.states[t.Service] = next
	b := r.cfg.router.balancers[t.Service]
	if b == nil {
		b = P2CEWMA()
	}
	for v, eps := range byVersion {
		st.versions[v] = b.Build(eps) // eps sorted by instance ID
		st.eps[v] = eps
	}
	st.stableP, st.rolloutP = st.versions[st.route.stable], st.versions[st.route.rolloutTo]
	return st
}

// picker returns version's Picker; nil when it has no live instance.
func (t *svcTable) picker(version string) Picker {
	switch version {
	case t.route.stable:
		return t.stableP
	case t.route.rolloutTo:
		return t.rolloutP
	}
	return t.versions[version]
}
