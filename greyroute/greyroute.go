// Package greyroute routes each tenant's calls to a service version —
// pinned, in a rollout, or stable — and balances them over that version's
// instances, with decisions made locally from a table kept in Redis.
//
// It serves multi-tenant services released gradually: a tenant pinned
// to a version stays there; a rollout moves a share of the tenants to a
// new version and keeps each where it is as the share rises; a version
// that needs a newer database schema is given only tenants whose schema
// meets it; a failing canary can be rolled back automatically.
//
// The pieces:
//
//   - Admin (NewAdmin) writes the routing table into Redis: instances
//     with their heartbeats, stable versions, rollouts, pins, schema
//     requirements, health. Admin.Handler serves it to operators as a
//     JSON API and an admin page.
//   - Router (NewRouter) holds the table in memory and answers Pick from
//     it with no I/O; Done reports how the call ended. WithAtomic makes
//     every Pick one script in Redis instead, the balancers' state shared
//     by every Router.
//   - Balancers choose among a version's instances: RoundRobin, Random,
//     SmoothWeightedRoundRobin, LeastConnections, P2CEWMA (the default)
//     and HealthAware, or one of your own (Balancer, Picker, Endpoint).
//   - Router.RoundTripper routes an http.Client's requests by service
//     name and tenant (WithTenant, TenantMiddleware); the subpackage
//     grpcroute does the same for a grpc-go client.
//   - WithAutoRollback ends a failing rollout; the subpackage greymq
//     publishes those events on an mq topic.
//   - A Registry (WithRegistry) takes the instances from another
//     discovery system (Nacos, Consul, Kubernetes endpoints); by default
//     they are those the Admin registered in Redis.
//
// The common path: instances register and heartbeat, an operator sets the
// stable version and rollouts, and each calling process routes through a
// Router:
//
//	admin, err := greyroute.NewAdmin(rdb)
//	err = admin.Register(ctx, greyroute.Instance{ID: "b-1", Service: "billing", Version: "v1", Addr: "10.0.0.1:8080"}, 30*time.Second) // each instance of v1 and v2, then Heartbeat
//	err = admin.SetStable(ctx, "billing", "v1")
//	err = admin.SetRollout(ctx, "billing", greyroute.Rollout{To: "v2", Percent: 5})
//
//	router, err := greyroute.NewRouter(rdb)
//	defer router.Close()
//	client := &http.Client{Transport: router.RoundTripper(nil)}
//	req, err := http.NewRequestWithContext(greyroute.WithTenant(ctx, "acme"), "GET", "http://billing/invoices", nil)
//	resp, err := client.Do(req) // to acme's version of billing, one of its instances
//
// Without HTTP, pick and report the call's end yourself:
//
//	inst, err := router.Pick(ctx, "acme", "billing")
//	start := time.Now()
//	callErr := call(inst.Addr) // your client
//	router.Done(inst, callErr, time.Since(start))
//
// The sections below are the contract: the Admin and the Redis layout
// it writes, the Router (local decisions, freshness, outages),
// auto-rollback, Atomic mode, HTTP, the breaker reports and the admin
// page, then the guarantees, errors and metrics.
//
// # Admin
//
// An Admin writes the table: Register, Heartbeat and Deregister of
// instances; Pin and Unpin of tenants; SetStable, SetRollout and
// SetFallback of a service; RequireSchema of a version and SetSchema of a
// tenant; SetHealth of an instance; MoveTenant migrates a tenant's schema
// (a Migrator) and then pins it. Snapshot and TenantSchemas read what a
// Router loads, Services lists the services written and Instances a
// service's live instances (the Admin is the built-in Registry);
// Breakers reads what Routers report of their breakers. Handler serves
// all of it to operators (# Admin page and API). Options: WithPrefix,
// WithClock, WithMeterProvider (WithAdminMeterProvider is its earlier
// name); a Router's own option is refused.
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
//	                 0–10000), rollout_since (the rev its target was set
//	                 at), fallback, rev
//	p{s}:instances   hash: instance ID → JSON {addr, version, weight, meta}
//	p{s}:expiry      sorted set: instance ID → expiry (Unix ms)
//	p{s}:pins        hash: tenant → version
//	p{s}:schema_req  hash: version → minimum tenant schema
//	p{s}:health      hash: instance ID → score 0–100 (absent: 100)
//	p{s}:index       sorted set, every score 0: "<version>\0<ID>\0<weight, 7
//	                 digits>" per instance ("\0<ID>" when its entry does not
//	                 decode) and the marker "\0"; kept by the Admin's scripts
//	                 for Atomic mode (see there)
//	p{s}:lb          hash: Atomic mode's counters ("rr\n<version>", "lc\n<version>",
//	                 "swrr\n<version>")
//	p{s}:swrr        hash: Atomic mode's smooth-WRR adjustments, by index member
//	p{s}:conns       hash: Atomic mode's connections: instance ID → all Routers'
//	p{s}:shares      hash: "<router>\n<instance ID>" → one Router's part of conns;
//	                 "<router>\n" → the sum of its parts
//	p{s}:routers     sorted set: Atomic-mode Router ID → lease expiry (Unix ms)
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
// Heartbeats are not change events: a Heartbeat (or a Register of the
// same entry) that only moves a live instance's expiry later writes it
// and neither bumps the rev nor publishes, so hundreds of heartbeating
// instances cost the Routers no reloads. Registering a new instance, or
// one that had expired, changing its entry, or moving its expiry earlier
// (a shorter ttl) is announced as usual.
//
// # Router
//
// A Router (NewRouter) holds every service's table in memory, one
// immutable snapshot per service swapped atomically, and answers Pick from
// it with no I/O and no allocation: tenant → version (resolve) → that
// version's Picker, built by the service's Balancer (WithBalancer; P2CEWMA
// by default). The built-in Pickers cost O(1) per pick while most
// instances are available, except LeastConnections: being exact, it reads
// the count of every instance of the version when none is idle — O(n),
// some 270ns at 100 busy instances (and SmoothWeightedRoundRobin with
// weights too large to precompute: see its doc). An instance's live
// state — breaker, EWMA, connections — is kept by instance ID across
// reloads. Done ends the call Pick started, and feeds the instance's
// breaker, latency EWMA and health: a nil error is a success,
// context.Canceled neither success nor failure, any other a failure.
//
// Options: WithPrefix (the Admins'), WithBalancer, WithFallbackVersion,
// WithResync, WithBreaker, WithRouterID, WithClock, WithLogger,
// WithMeterProvider, WithAutoRollback, WithAtomic, WithRegistry.
//
// Discovery: by default a service's instances are those the Admin
// registered in Redis (heartbeats, expiries). WithRegistry takes them
// from a Registry instead — an adapter over Nacos, Consul or Kubernetes
// endpoints — read at every load of the service, and reloaded when a
// RegistryWatcher announces a change; the routing state (stable,
// rollout, pins, schemas, health) stays in Redis. *Admin implements
// Registry over Redis's instances. A Registry's failure, panic or
// timeout (10s a call) keeps that service's last table; the others load.
//
// Instances lists a service's live instances (every version) as of the
// Router's last load, and Watch tells of each table it installs, through
// a channel that merges changes and never blocks the Router: what a
// client that keeps connections per instance (grpcroute) follows.
//
// Freshness: the Router subscribes to the change channel before its first
// load, reloads a service when an event announces a rev newer than the one
// it holds, and reloads everything every WithResync period (30s by
// default) and after every resubscription. A change is therefore seen
// within one reload of its event, and within one resync period if its
// event is lost. Expiries are not announced (nor are heartbeats, which
// move them): a Router keeps the earliest expiry of each service's table
// and reloads that service when it passes by the Router's clock, reading
// the later expiry of an instance that heartbeated meanwhile and dropping
// one that did not (such reloads run in rounds at least 100ms apart). An
// instance that stops heartbeating therefore leaves every Router within
// 100ms and a reload of its expiry; each service is reloaded about once
// per (ttl − heartbeat interval) however many instances heartbeat. The
// Routers' clocks must agree with the Admins' within
// ttl − heartbeat interval: a Router ahead by more drops a live instance
// at each reload of its service and, as heartbeats are not announced,
// sees it again only at the next change event or resync. A service
// whose table cannot be read (one of its keys of the wrong type) keeps
// its last table and marks the Router stale; one whose Registry fails
// keeps its last table too, but that is not a Redis outage: it counts in
// greyroute.registry.errors and logs one warning naming the service and
// the error per failure streak (one info line when it answers again),
// and greyroute.table.stale and table.age are left to Redis. The other
// services reload as usual.
//
// Redis unreachable: Picks go on from the last table; the gauge
// greyroute.table.stale is 1 and one warning is logged per outage; the
// subscription is retried with backoff, and the resync that follows the
// resubscription (or the periodic one) ends the outage with one info
// line. NewRouter itself fails with ErrUnavailable when it cannot
// subscribe (within 10s) or load.
//
// # Auto-rollback
//
// WithAutoRollback(RollbackPolicy) makes a Router watch each service's
// rollout target (the canary, Rollout.To, while a rollout is active): the
// outcome of every call it picked there — the tenants in the rollout and
// those pinned to the canary alike — as Done reports it (nil a success,
// context.Canceled nothing, any other error a failure), and every Pick
// that resolved to the canary but found none of its instances available
// (its breakers open), a failure. Calls on any other version never
// count. The counts are kept per Router in a sliding window (Window, in
// tenths) of atomic counters: Done stays lock- and allocation-free.
//
// When the window holds at least MinRequests calls and more than
// Threshold of them failed, the Router's rollback goroutine (never the
// caller of Done) runs one script that ends the rollout — as SetRollout
// with 0% — only if it is still the same rollout to that version
// (compare-and-set on the version and the rev the rollout was set at), and
// records the rollback in the route hash (last_rollback, read back as
// Table.LastRollback), bumping the rev and announcing it like any write.
// Routers that decide at once make one change: the others' scripts find
// it made and do nothing. Each rollback carries an ID, so a script
// retried after a lost reply finds its own change and makes no other;
// Redis unreachable, the goroutine retries with backoff until it answers
// or Close. Only the Router whose script made the change tells of it,
// once: RollbackPolicy.OnRollback (a panic recovered and logged) and
// RollbackPolicy.Sink (an error logged). Were the Router to die between
// the script and these, the event is lost; the record in Redis is not.
// Pins to the canary are kept: a pin is an operator's explicit decision,
// and those tenants stay on the canary. The window starts empty after a
// rollback, and for every new rollout: another target, or the same one
// ended and set again (its old calls do not judge the new one). Each
// Router judges only the calls it made: a fleet of Routers each under
// MinRequests does not roll back.
//
// # Atomic mode
//
// WithAtomic makes every Pick one Lua script (scripts/pick.lua, EVALSHA,
// EVAL once on NOSCRIPT) on the service's keys only, all under its hash
// tag {s}, so it runs on a Redis Cluster: one round trip, against the
// freshest table, with balancer state shared by every Router of the
// service. The script resolves the version as the local Router does (pin
// > rollout > stable, gated by schema; the rollout bucket is computed in
// Go and passed in), picks among that version's instances that are live
// by the Router's clock, score above 50 and not skipped, applies the
// fallback version the same way, counts the connection and returns the
// instance. The balancers run in Redis: RoundRobin over the instance IDs
// in byte order (as the local Router sorts them) with one shared counter
// per version; SmoothWeightedRoundRobin with nginx's sequence, shared;
// LeastConnections over the shared counts (ties rotate); Random and
// HealthAware with randomness sent by the Router. P2CEWMA, the default,
// runs as LeastConnections: its latency averages are each Router's own,
// the shared counts are the load signal Redis has. A Balancer of the
// caller's own cannot run in Redis: NewRouter refuses it (ErrInvalid),
// and WithRegistry too (the script balances over the instances
// registered in Redis).
//
// Cost: a Pick reads only the resolved version's instances (and, when it
// has none available, the fallback's), from the index p{s}:index that
// the Admin's Register, Deregister and expiry sweep keep in the same
// scripts as the instances: one range of the sorted set, then their
// health scores (and, by balancer, connection counts or smooth-WRR
// state), and the chosen instance's entry. It is O(instances of the
// version) with small constants (BenchmarkRouterPickAtomic), and no
// balancer writes more than a few fields per Pick: SmoothWeightedRoundRobin
// keeps a per-version pick count and one adjustment per instance (its
// current weight is count × weight − adjustment), so a Pick writes the
// chosen instance's, not every one's; an instance whose weight changes
// starts again at current weight 0, as after an nginx reload. A version
// may hold any number of instances. Data the index does not describe is
// never answered wrongly: when the index does not hold one member per
// instance (data written before it existed, or by an Admin of an older
// version, or edited by hand), the script that notices rebuilds it from
// the entries; a Pick whose chosen entry does not match its member
// rebuilds it and picks again. A change of version written around the
// index is thus seen when the old version is picked from; run every
// Admin of a service at this version before using Atomic mode on it.
//
// What stays per Router: the tenants' schemas (they live under another
// hash tag, {tenants}, so the Router sends the tenant's from its table,
// as fresh as its change events: see Freshness) and the breakers (the
// IDs of instances whose breaker is open, or half-open with its probe
// slots taken, are sent to be skipped; Done feeds them as in local mode).
//
// Done does not block: it counts the connection's return in memory (one
// counter per instance, so the memory is bounded) and one goroutine
// tells Redis, one script per service, retrying with backoff while Redis
// is unreachable; Close makes a last attempt of at most 5s. A Router's
// counts are its own share in Redis, under a lease (30s) renewed by its
// Picks and flushes and, while it has calls in progress, every 10s. When
// a Router crashes, or closes with calls in progress or with Dones it
// could not tell, the first Pick of the service after its lease lapsed
// takes its share back: a dead Router's counts drift for at most the
// lease. A flush sets the Router's share of each instance to the calls it
// has in progress there rather than subtracting, so a flush run twice
// (go-redis retrying after a lost reply) changes nothing more, and a
// Router whose share was taken while it was cut off for longer than the
// lease counts its calls again. A Pick whose reply is lost (its context
// ends, or the connection drops, after Redis ran the script; or go-redis
// ran it again) counted a call the Router never learns of: every 10s, for
// each service it picked on or has calls in progress on, and at once
// after a failed Pick, the flush also clears the Router's share of every
// instance it has no call on (reading all Routers' shares only when its
// sum in Redis differs from the calls it holds). A Pick whose script ran
// as the flush was made may go uncounted until its Done. Done after Close
// changes nothing in Redis. The clock of leases and expiries is each
// Router's (WithClock).
//
// An Atomic-mode Pick needs Redis: it does not fall back to the last
// table, whose counters would not be shared. Errors in Atomic mode are as
// in local mode, and any Redis error — unreachable, or data no Admin
// writes, such as a key of the wrong type — wraps ErrUnavailable; a
// context error is returned as it is. An instance
// entry that cannot be decoded is skipped (an ErrNoInstance says how many
// were), and so is one the script accepted and the Router cannot read; a
// counter in p{s}:lb, conns or shares that is not a number counts as 0.
// A Pick that resolved to the rollout target and found none of its
// instances available counts as a failure in the auto-rollback window,
// whether the fallback then serves or not, as in local mode. Its own
// metrics, greyroute.atomic.done.*, are under # Metrics.
//
// # HTTP
//
// Router.RoundTripper makes an http.Client route by service name: a
// request for http://<service>/path goes to the instance Pick chooses for
// the tenant in the request's context (WithTenant; TenantMiddleware puts
// an incoming request's tenant there), on a clone of the request.
// Instance.Addr is "host:port" (the request's scheme kept) or
// "http(s)://host:port". Its Done comes at the end of the response body;
// a transport error or a 5xx is a failure, a 1xx–4xx a success, the
// caller's cancellation neither. A request whose connection could not be
// made (a dial error, such as refused: nothing was sent) is retried once
// on another instance when the body can be replayed (none, or GetBody):
// in local mode another available instance of the same version whenever
// there is one, whatever the Balancer offers (else the fallback, as for
// Pick; never another version); in Atomic mode another instance if one of
// up to three Picks offers one. No other error is retried: the request
// may have reached the instance. A request with no tenant, or for a host
// that is not a known service, fails with ErrUnknownTenant and is never
// sent.
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
// Router's reports of breakers it leaves not closed, also those of
// instances gone from its table; an instance that comes back under its
// ID gets a new, closed breaker, and its old report is taken back too.
// Atomic mode reports as local mode does. A Router that dies
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
// state, and its pinned tenants, searched and listed 50 at a time. Each
// view of a service and each page of its pins reads the service's whole
// pins hash: fine for thousands of pins; at 100,000 one request took
// 140–235 ms and 10–26 MB, and an HGETALL that long holds Redis up. It has
// no login: mount it behind your own authentication. Writes are guarded
// against cross-site requests without a session: a JSON body
// (Content-Type application/json) and http.CrossOriginProtection
// (Sec-Fetch-Site, else Origin against Host).
//
// # Guarantees
//
// Routing: a tenant's call goes to its version — pin > rollout > stable,
// gated by the tenant's schema — or, when that version has no available
// instance, to the service's fallback version if the tenant's schema
// meets it; never to any other. Rollouts are sticky: a tenant's bucket is
// a stable hash of tenant and service, so raising the percentage keeps
// every tenant already moved and lowering it moves back only the excess.
//
// Consistency: each service's table is read at one rev in one
// transaction and installed whole, so a local Pick never sees part of a
// write; the tenants' schemas are read and installed apart (another hash
// tag). Local mode is eventually consistent, within the bounds given
// under Freshness (# Router); Atomic mode reads the service's keys in
// Redis at every Pick (the tenants' schemas excepted).
//
// Writes: every Admin write is one script, applied whole or not at all,
// announced once when it changed something, and safe to retry;
// MoveTenant is two (the schema, then the pin) and is repaired by calling
// it again.
//
// Outages: with Redis unreachable a local Router keeps picking from its
// last table and says so (greyroute.table.stale, one log line); an Atomic
// one fails its Picks with ErrUnavailable. A Registry's failure keeps
// that service's last instances. A Router holds nothing Redis does not:
// one that crashes loses only its own breakers and averages; its
// Atomic-mode connection counts lapse with its lease, and its breaker
// reports are dropped once 24h old.
//
// # Errors
//
// All errors are matched with errors.Is against the sentinels below and
// name the call and its arguments; context errors are returned as they
// are, never wrapped.
//
// Every Admin call: ErrInvalid for a bad argument, named, before any
// write; ErrUnavailable when Redis cannot be reached (the error wraps
// go-redis's too); another Redis error (a key of the wrong type, written
// by something else) wrapped as it is; ErrClosed after Close. Besides:
//
//   - Heartbeat, SetHealth: ErrNotFound for an unknown or expired
//     instance.
//   - SetRollout: ErrInvalid for a rollout the table refuses (no stable
//     version; To is the stable version).
//   - Pin: ErrSchema when the tenant's schema is below the version's
//     requirement.
//   - MoveTenant: ErrSchema as Pin (after migrating); ErrInvalid for a nil
//     Migrator or one that returned a schema below the recorded one; the
//     Migrator's own error (or panic) wrapped, nothing written.
//
// NewAdmin and NewRouter: ErrInvalid for a nil client or a bad option
// (naming it), a Router option given to NewAdmin, and, with WithAtomic, a
// Balancer of the caller's own or WithRegistry. NewRouter: ErrUnavailable
// when it cannot subscribe (within 10s) or load; its first load fails it
// too when a service's keys cannot be read or a Registry fails (the error
// names the service).
//
// Router.Pick: ErrUnknownTenant (no pin and no stable version, an unknown
// service included), ErrSchema (the tenant's schema is below even the
// stable version's requirement), ErrNoInstance (neither the version nor
// the fallback has an available instance), ErrClosed; in Atomic mode,
// ErrUnavailable for any Redis error. Done, Instances and Watch return no
// errors.
//
// Router.RoundTripper: ErrUnknownTenant (no tenant in the context, or a
// host that is no known service), ErrInvalid (a URL whose scheme is not
// http(s) or whose host has a port or is no valid name; an instance
// address that is no host:port nor http(s)://host:port), Pick's errors,
// and the transport's, wrapped with the instance.
//
// Admin.Handler maps them to HTTP statuses: ErrInvalid 400, ErrNotFound
// 404, ErrSchema 409, ErrUnavailable and ErrClosed 503 (the rest in its
// doc).
//
// # Metrics
//
// Taken from WithMeterProvider's provider (the global one by default),
// observable instruments read at collection time:
//
//   - greyroute.admin.writes (counter): Admin writes by greyroute.op
//     (register, heartbeat, ..., move_tenant) and outcome (ok, refused,
//     invalid, error).
//   - greyroute.picks (counter): Router picks by outcome (ok, fallback,
//     error) and via, how the version was chosen: pin, rollout or stable
//     for ok (a pin or rollout passed over for the tenant's schema counts
//     as stable), fallback for fallback; an error has no via.
//   - greyroute.table.stale (gauge): 1 while the Router cannot reach Redis
//     or read a service's table, else 0.
//   - greyroute.table.age (gauge, ms): time since the Router's last full
//     resync (one that only a Registry failed counts).
//   - greyroute.registry.errors (counter, no attributes: the log names
//     the service): failed Registry.Instances calls — errors, panics,
//     timeouts.
//   - greyroute.rollbacks (counter, with WithAutoRollback): the Router's
//     rollback decisions by outcome (rolled_back: its script ended the
//     rollout; already: the rollout was no longer to the version; failed:
//     the script failed for good, logged, tried again after a window of
//     fresh calls; emit_failed: OnRollback panicked or the Sink failed).
//   - greyroute.atomic.done.pending (gauge, with WithAtomic): Dones not
//     yet told to Redis.
//   - greyroute.atomic.done.lost (counter, with WithAtomic): Dones given
//     up (Close could not tell Redis, or Redis refused them), left to the
//     lease.
//
// grpcroute counts its picks in greyroute.grpc.picks (see there).
package greyroute

import "errors"

// Instance is one registered instance of a service version.
type Instance struct {
	ID      string            // unique within the service
	Service string            // the service it serves
	Version string            // the service version it runs ("v1.1")
	Addr    string            // host:port to send calls to (RoundTripper also takes http(s)://host:port)
	Weight  int               // relative share for weighted balancers; 0 means 1
	Meta    map[string]string // free-form labels (zone, build)

	// Set by Router.Pick, for its Done: the endpoint picked and the
	// breaker period the pick saw. Unset in any other Instance.
	picked *endpointState
	tk     ticket
	router *Router
	win    *rollbackWindow // the auto-rollback window, when inst is the rollout target
}

// Errors returned by this package, matched with errors.Is.
var (
	// ErrNoInstance: no available instance of the resolved version (and
	// no fallback version has one).
	ErrNoInstance = errors.New("greyroute: no instance")
	// ErrUnknownTenant: the tenant has no route for the service and the
	// service has no stable version; from RoundTripper also a request
	// with no tenant, or for a host that is no known service.
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
	// loading or failing over) — in Atomic mode, any Redis error of a
	// Pick; the error also wraps go-redis's.
	ErrUnavailable = errors.New("greyroute: redis unavailable")
)
