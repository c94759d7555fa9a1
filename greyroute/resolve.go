package greyroute

import "fmt"

// buckets is the number of rollout buckets: a rollout's percentage is
// kept in basis points (0–10000), one bucket each.
const buckets = 10000

// bucket places (tenant, service) in one of the 10,000 rollout buckets:
// FNV-1a 64 over tenant, a 0x00 separator and service, mod 10000. The
// separator keeps ("ab","c") and ("a","bc") apart. It is a pure function
// of its arguments, so every router and the Atomic-mode script agree on it
// and a tenant keeps its bucket as the rollout's percentage moves.
// Written out (not hash/fnv) so that it does not allocate.
func bucket(tenant, service string) uint32 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(tenant); i++ {
		h ^= uint64(tenant[i])
		h *= prime64
	}
	h *= prime64 // the 0x00 separator: its XOR leaves h as it is, the multiply does not
	for i := 0; i < len(service); i++ {
		h ^= uint64(service[i])
		h *= prime64
	}
	return uint32(h % buckets)
}

// route is one service's routing state as the resolver needs it: an
// immutable value, read without locks by concurrent Picks.
type route struct {
	stable    string            // the version every tenant gets by default
	rolloutTo string            // the version a rollout moves tenants to ("" = none)
	rolloutBP int               // share of tenants on rolloutTo, basis points 0–10000
	pins      map[string]string // tenant → pinned version
	schemaReq map[string]int    // version → minimum tenant schema (absent = 0)
}

// How resolve chose a version; the Router counts them.
const (
	viaStable  = iota // the stable version
	viaPin            // the tenant's pin
	viaRollout        // the tenant's bucket is inside the rollout
	viaGated          // a pin or rollout was passed over for the tenant's schema; stable served
	numVia
)

// meets reports whether a tenant whose recorded schema is schema may run
// version v. A version without a requirement admits every tenant.
func (r *route) meets(v string, schema int) bool {
	return schema >= r.schemaReq[v]
}

// resolve returns the version tenant is routed to for service: its pin,
// else the rollout's target if the tenant's bucket is below the rollout's
// basis points, else the stable version. A pin or rollout target whose
// schema requirement the tenant's schema (0 when none is recorded) does
// not meet is passed over: the tenant stays on stable. The stable version
// is the floor: when the tenant does not meet even its requirement the
// answer is ErrSchema, not another version. A service with neither a pin
// for the tenant nor a stable version answers ErrUnknownTenant.
// It does not allocate except to build an error.
func resolve(r *route, tenant, service string, schema int) (version string, via int, err error) {
	gated := false
	if p, ok := r.pins[tenant]; ok {
		if r.meets(p, schema) {
			return p, viaPin, nil
		}
		gated = true
	}
	if r.rolloutTo != "" && r.rolloutTo != r.stable && int(bucket(tenant, service)) < r.rolloutBP {
		if r.meets(r.rolloutTo, schema) {
			return r.rolloutTo, viaRollout, nil
		}
		gated = true
	}
	if r.stable == "" {
		return "", 0, fmt.Errorf("greyroute: route tenant %q to service %q: no pin and no stable version: %w", tenant, service, ErrUnknownTenant)
	}
	if !r.meets(r.stable, schema) {
		return "", 0, fmt.Errorf("greyroute: route tenant %q to service %q: stable version %q needs schema %d, tenant has %d: %w",
			tenant, service, r.stable, r.schemaReq[r.stable], schema, ErrSchema)
	}
	if gated {
		return r.stable, viaGated, nil
	}
	return r.stable, viaStable, nil
}
