// Package greyroute routes each tenant's calls to a service version —
// pinned, in a rollout, or stable — and balances them over that version's
// instances, with decisions made locally from a table kept in Redis.
//
// Work in progress (issue 17): the design is in the repository's issue
// notes; this file holds the types the parts share.
package greyroute

import "errors"

// Instance is one registered instance of a service version.
type Instance struct {
	ID      string            // unique within the service
	Service string            // the service it serves
	Version string            // the service version it runs ("v1.1")
	Addr    string            // host:port (or a URL's authority) to send calls to
	Weight  int               // relative share for weighted balancers; 0 means 1
	Meta    map[string]string // free-form labels (zone, build)
}

// Errors returned by this package, matched with errors.Is.
var (
	// ErrNoInstance: no available instance of the resolved version (and
	// no fallback version has one).
	ErrNoInstance = errors.New("greyroute: no instance")
	// ErrUnknownTenant: the tenant has no route for the service and the
	// service has no stable version.
	ErrUnknownTenant = errors.New("greyroute: unknown tenant")
	// ErrInvalid: a malformed argument (empty service, bad percentage,
	// bad option); the message names it.
	ErrInvalid = errors.New("greyroute: invalid argument")
	// ErrSchema: the tenant's schema does not meet the version's
	// requirement.
	ErrSchema = errors.New("greyroute: schema too old")
	// ErrClosed: the Router or Admin was closed.
	ErrClosed = errors.New("greyroute: closed")
)
