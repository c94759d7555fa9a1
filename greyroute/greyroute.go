// Package greyroute routes each tenant's calls to a service version —
// pinned, in a rollout, or stable — and balances them over that version's
// instances, with decisions made locally from a table kept in Redis.
//
// Work in progress (issue 17). Built: the Admin that writes the table
// into Redis, the Router that routes from it locally (below), version
// resolution (pin > rollout > stable, with schema gating), the Balancers
// (RoundRobin, Random, SmoothWeightedRoundRobin, LeastConnections,
// P2CEWMA, HealthAware) over Endpoints with a breaker, latency EWMA and
// health each, WithTenant / TenantMiddleware, and the admin page with its
// JSON API (Admin.Handler). Not built yet: WithAtomic, the RoundTripper,
// auto-rollback and grpcroute.
//
// # Admin
//
// An Admin writes the table: Register, Heartbeat and Deregister of
// instances; Pin and Unpin of tenants; SetStable, SetRollout and
// SetFallback of a service; RequireSchema of a version and SetSchema of a
// tenant; SetHealth of an instance; MoveTenant migrates a tenant's schema
// (a Migrator) and then pins it. Snapshot and TenantSchemas read what a
// Router loads; Breakers reads what Routers report of their breakers.
//
// Names (service, tenant, version, instance ID) are 1–128 bytes of UTF-8
// with no control characters and no braces; anything else is an error
// wrapping ErrInvalid that names the argument.
//
// # Redis layout
//
// Keys start with the prefix p (DefaultPrefix "greyroute:", WithPrefix).
// Every key of service s carries the hash tag {s}, so one script touches
// them all in a Redis Cluster:
//
//	p{s}:route       hash: stable, rollout_to, rollout_bp (basis points,
//	                 0–10000), fallback, rev
//	p{s}:instances   hash: instance ID → JSON {addr, version, weight, meta}
//	p{s}:expiry      sorted set: instance ID → expiry (Unix ms)
//	p{s}:pins        hash: tenant → version
//	p{s}:schema_req  hash: version → minimum tenant schema
//	p{s}:health      hash: instance ID → score 0–100 (absent: 100)
//	p{s}:breakers    hash: instance ID → JSON {router ID: {state, at}}, the
//	                 breakers Routers report open or half-open (below)
//	p{tenants}:schema  hash: tenant → schema version (global)
//	p{tenants}:meta    hash: rev of the tenants' schemas
//	p services       set of every service written (for a full resync)
//	p migrate:{t}    MoveTenant's lock for tenant t (the lock package)
//
// An instance is live while its expiry is after now; readers drop it
// when it passes (no event announces an expiry), and the scripts that
// touch the instances delete the expired ones. Time is the caller's
// clock, passed to every script (WithClock), never Redis's.
//
// # Change events
//
// Every write is one Lua script (EVALSHA). A write that changes a service
// increments its route hash's rev and publishes "<s> <rev>" on the
// channel p+"changed" ("greyroute:changed") in the same script; SetSchema
// publishes "{tenants} <rev>" (no service is called that: braces are
// refused). A write that finds nothing to change — a call retried after
// its reply was lost, or a repeated call — neither bumps the rev nor
// publishes, so retrying any Admin call is safe. The service's name is
// added to the services set (SADD) just before its script.
//
// # Router
//
// A Router (NewRouter) holds every service's table in memory, one
// immutable snapshot per service swapped atomically, and answers Pick from
// it with no I/O and no allocation: tenant → version (resolve) → that
// version's Picker, built by the service's Balancer (WithBalancer; P2CEWMA
// by default). An instance's live state — breaker, EWMA, connections — is
// kept by instance ID across reloads. Done ends the call Pick started.
// Options: WithPrefix (as the Admin's), WithBalancer, WithFallbackVersion,
// WithResync, WithBreaker, WithRouterID, WithClock, WithLogger,
// WithMeterProvider.
//
// Freshness: the Router subscribes to the change channel before its first
// load, reloads a service when an event announces a rev newer than the one
// it holds, and reloads everything every WithResync period (30s by
// default) and after every resubscription. A change is therefore seen
// within one reload of its event, and within one resync period if its
// event is lost. Expiries are not announced: an instance whose expiry (by
// the Router's clock) has passed is dropped at the next load of its
// service — at worst one resync period after it expired.
//
// Redis unreachable: Picks go on from the last table; the gauge
// greyroute.table.stale is 1 and one warning is logged per outage; the
// subscription is retried with backoff, and the resync that follows the
// resubscription (or the periodic one) ends the outage with one info
// line. NewRouter itself fails with ErrUnavailable when it cannot
// subscribe (within 10s) or load.
//
// # Breaker reports
//
// Each Router keeps its own breakers (they count its own calls). So that
// the admin page can show them, a Router reports every transition of an
// instance's breaker to p{s}:breakers: the transition only queues the
// report (it may happen inside a Pick, which does no I/O), and a
// goroutine of the Router writes the newest per instance with one script
// (scripts/breaker.lua) — open and half-open under the Router's ID
// (WithRouterID; by default hostname-pid-random) with the time by its
// clock, closed by removing its entry. A report is not a table write: no
// rev, no event; Routers never read them. A failed write is retried with
// backoff; Close writes what is queued (within 5s) and takes back the
// Router's reports of breakers it leaves not closed. A Router that dies
// without Close leaves its reports until the next report on the same
// instance finds them over 24h old. Admin.Breakers reads them, the worst
// first; the page shows the worst, with its Router and time.
//
// # Admin page and API
//
// Admin.Handler serves a JSON API (routes in its doc) and a page over it
// (html/template and plain JavaScript, embedded; no build step) listing
// the services and, for the one chosen, its stable version, rollout (a
// slider) and fallback, its versions with their schema requirement and
// counts, its instances with address, weight, health, expiry and breaker
// state, and its pinned tenants, searched and listed 50 at a time. It has
// no login: mount it behind your own authentication. Writes are guarded
// against cross-site requests without a session: a JSON body
// (Content-Type application/json) and http.CrossOriginProtection
// (Sec-Fetch-Site, else Origin against Host).
//
// # Errors
//
// ErrInvalid: a bad argument, named (before any write), or a rollout the
// table refuses (no stable version; the target is the stable version).
// ErrNotFound: Heartbeat or SetHealth of an unknown or expired instance.
// ErrSchema: Pin or MoveTenant to a version requiring a newer tenant
// schema. ErrUnavailable: Redis unreachable; the error wraps go-redis's
// too. Context errors are returned unwrapped. ErrClosed after Close.
// Router.Pick: ErrUnknownTenant (no pin and no stable version, an unknown
// service included), ErrSchema (the tenant's schema is below even the
// stable version's requirement), ErrNoInstance (neither the version nor
// the fallback has an available instance), ErrClosed. A bad option is
// ErrInvalid, and so is a Router option given to NewAdmin. Admin.Handler
// maps them to HTTP statuses: ErrInvalid 400, ErrNotFound 404, ErrSchema
// 409, ErrUnavailable and ErrClosed 503.
//
// # Metrics
//
// greyroute.admin.writes (counter): Admin writes by greyroute.op and
// outcome (ok, refused, invalid, error). greyroute.picks (counter):
// Router picks by outcome (ok, fallback, error). greyroute.table.stale
// (gauge): 1 while the Router cannot reach Redis. greyroute.table.age
// (gauge, ms): time since the Router's last full resync.
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

	// Set by Router.Pick, for its Done: the endpoint picked and the
	// breaker period the pick saw. Unset in any other Instance.
	picked *endpointState
	tk     ticket
	router *Router
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
	// ErrNotFound: the instance is unknown, deregistered or expired
	// (Heartbeat, SetHealth).
	ErrNotFound = errors.New("greyroute: not found")
	// ErrUnavailable: Redis could not be reached (the network, a server
	// loading or failing over); the error also wraps go-redis's.
	ErrUnavailable = errors.New("greyroute: redis unavailable")
)
