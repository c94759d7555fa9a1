package greyroute

import "strings"

// keySet names one service's Redis keys. Every key carries the hash tag
// {<service>}, so one script can touch them all in a Redis Cluster. The
// Admin writes them and the Router reads them: both build them here.
type keySet struct {
	route, instances, expiry, pins, schemaReq, health string
	index                                             string // scripts/index.lua
}

// serviceKeys returns service's keys under prefix. service is a valid
// name (no braces), so "{service}" is exactly its hash tag.
func serviceKeys(prefix, service string) keySet {
	base := prefix + "{" + service + "}:"
	return keySet{
		route:     base + "route",
		instances: base + "instances",
		expiry:    base + "expiry",
		pins:      base + "pins",
		schemaReq: base + "schema_req",
		health:    base + "health",
		index:     base + "index",
	}
}

// list is the keys in the order the scripts take them (scripts/prelude.lua).
func (k keySet) list() []string {
	return []string{k.route, k.instances, k.expiry, k.pins, k.schemaReq, k.health, k.index}
}

// tenantsTag is the hash tag of the tenants' keys. Braces are refused in
// names, so no service's keys share it.
const tenantsTag = "{tenants}"

// tenantSchemaKey is the hash tenant → schema version; tenantsMetaKey holds
// its rev. Both share one hash tag.
func tenantSchemaKey(prefix string) string { return prefix + tenantsTag + ":schema" }
func tenantsMetaKey(prefix string) string  { return prefix + tenantsTag + ":meta" }

// servicesKey is the set of every service the Admin has written.
func servicesKey(prefix string) string { return prefix + "services" }

// changedChannel is where every write announces itself: "<service> <rev>",
// or "{tenants} <rev>" when a tenant's schema changed.
func changedChannel(prefix string) string { return prefix + "changed" }

// parseChanged splits a change event's payload into what changed (a
// service name, or "{tenants}") and the rev, split at the last space.
func parseChanged(payload string) (what, rev string, ok bool) {
	i := strings.LastIndexByte(payload, ' ')
	if i <= 0 || i == len(payload)-1 {
		return "", "", false
	}
	return payload[:i], payload[i+1:], true
}
