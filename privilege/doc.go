// Package privilege decides who may do what: RBAC with a role hierarchy
// plus ABAC policies whose conditions are CEL expressions, with every
// decision explained.
//
// An Engine answers Check(ctx, Request) from a Store (NewMemoryStore, or
// NewPostgresStore for a shared one). Writes go to the store; engines see
// them through the store's Version: at once in the writing process, and
// within a bound (WithMaxStaleness, 1s by default) everywhere else (see
// # Caching).
//
// # Model
//
// RBAC: a Role has Permissions (resource and action patterns) and parents
// (a DAG: several parents, cycles refused with ErrCycle, chains of at most
// MaxRoleDepth = 10 roles, refused on write with ErrInvalid, whether the
// write adds a role below a chain or a parent on top of it). DeleteRole
// takes the role's permissions, grants and place among other roles'
// parents with it. A user's effective roles are the active roles of their
// unexpired grants and all the active ancestors of those; an inactive
// ancestor gives nothing but does not hide the active roles above it; a
// grant of an inactive role gives nothing at all. A grant stops counting at
// its expiry, without a write.
//
// ABAC: a Policy has a Target (subject, resource and action patterns; an
// empty list is any), an optional Condition and an Effect (Permit or
// Deny). The condition is a CEL expression over four variables: subject
// and resource (maps of the request's attributes, with "id" set to its
// Subject or Resource), action (a string) and env (a map). It is compiled
// and type-checked on write; a bad one is ErrBadCondition with its line and
// column. Policies are evaluated by Priority, highest first: the first
// priority at which some policy applies (target matches, condition true)
// decides. If a permit and a deny apply at that priority, the combining
// algorithm picks (WithCombining: DenyOverrides, the default, or
// PermitOverrides). A condition that cannot be evaluated (a missing
// attribute, a wrong type, the cost limit) makes its policy indeterminate:
// it is skipped and named in the Decision's Reason — write conditions that
// must deny on missing data as has(subject.x) checks. A write that makes a
// same-priority permit and deny apply to overlapping targets is refused
// with ErrConflict, unless the store was made with AllowConflicts
// (NewMemoryStore(AllowConflicts()), NewPostgresStore(ctx, pool,
// AllowConflicts())): then the pair is stored and the combining
// algorithm resolves it at check time.
//
// The combination: an applicable ABAC deny overrides everything; otherwise
// an ABAC permit or an RBAC permit allows; otherwise the request is
// denied. The Decision names the Role or the PolicyID that decided, and
// its Reason says why in words.
//
// Patterns (permissions and targets) follow casbin's keyMatch: "*" is
// everything, "orders/*" everything starting with "orders/" (at any
// depth; not "orders" itself), anything else is exact. A star is allowed
// only at the end.
//
// # Cost
//
// A check costs the user's effective roles times their permissions plus
// the policies whose resource target can match: policies are indexed by
// exact resource and by prefix, so the others are never looked at, and
// conditions run only for policies whose whole target matches. Nothing
// grows with the total number of rules. Writes cost what they touch too:
// a PutRole its ancestors and (when it has parents) its descendants, so
// loading N roles is linear in N. MemoryStore keeps a grant in 16 bytes
// beside the user's ID (see BENCHMARKS.md: 110,000 rules take about an
// eighth of casbin's heap). Decisions no condition took part in are
// cached (# Caching).
//
// # Caching
//
// Tiers, looked up in order: L1, in the process (WithL1: 10,000
// decisions, a generation per store version); L2, in Redis, shared by
// every engine on the store (WithRedis); then computed from the store,
// after which every tier is filled (an L2 hit fills L1). Only decisions no
// condition took part in are cached: attributes are not in the keys. An
// entry that relied on an expiring grant is not served from its expiry
// on, in either tier, and L2 entries live WithL2TTL (5 minutes) at most.
// L2 keys are prefix (WithRedisPrefix, "privilege:") + the store's id +
// ":" + version + ":" + the SHA-256 of the length-prefixed subject,
// resource and action: one key per call, so Redis Cluster works. The id
// (Identified: made once per database by Migrate, once per MemoryStore)
// keeps engines on different stores that share a Redis and prefix apart:
// their versions count alike, their keys and channels do not meet. A
// Store without an id gets keys without one (then, one prefix per store).
// A database copied (restored from a backup beside its original) keeps
// its id: give the copy engines another prefix.
//
// Versions: every write bumps the store's Version and every cache entry
// is keyed by the version it was decided at, so a newer version makes
// older entries unreachable — nothing is deleted, nothing can be missed.
// A MemoryStore's Version is read on every check (an atomic load). A
// PostgresStore is a Watcher: its writes tell the engines of its process
// before they return (read-your-writes in the process), a connection of
// its own LISTENs on ChangeChannel for other processes' writes (re-reading
// the version on every reconnection and after every notification), and,
// with WithRedis, an engine that learns a version from its store announces
// it on the channel prefix + store id + ":changed", to which every engine
// on the store subscribes.
// Only the store is believed about versions: a notification's payload and
// an announcement are news that make the next check read the store's
// version, never a version to decide at, so a forged or foreign one (a
// NOTIFY needs no privilege; another store on the same prefix) cannot pin
// an engine above the real version. The engine decides at the highest
// version the store has given it, but only while that version was confirmed
// by a read of the store less than WithMaxStaleness ago; past it, the
// next check reads the store's version again (one read at a time, the
// other checks wait for it, each no longer than its own context; at most
// one read per bound when nothing is written).
//
// The propagation bound: a revoke (any write) is in effect on every
// instance at most WithMaxStaleness after it commits, and usually within
// milliseconds (a notification). What makes the bound hold is the read,
// not the notifications: if every notification is lost (LISTEN
// connection down, Redis down, a message dropped), the next check after
// the bound still reads the version. A decision is never made on a
// version confirmed longer ago than the bound. The bound is counted from
// before the read, on the process's clock; a process that is paused (GC,
// SIGSTOP) between reading and answering is late by the pause, as any
// bound is.
//
// Redis failures: Redis is a cache and a messenger, never the authority.
// Each Redis call on the check path is bounded (WithRedisTimeout, 50ms,
// on a client with ContextTimeoutEnabled);
// an error or timeout makes the check fall through to the store and is
// counted (privilege.l2.errors). Losing Redis costs speed and prompt
// invalidation, never correctness: the bound holds through the store
// reads, and no permit is served that the store did not give at a version
// within the bound. The "store or Redis unreachable: deny" is
// read this way on purpose: denying every request while Redis is down,
// when the store can still decide, would turn a cache outage into an
// authorization outage; a Redis answer is never trusted beyond the store.
//
// Store failures fail closed: once the bound has passed and the store's
// version cannot be read, or a decision cannot be computed, Check returns
// a deny with the reason "store unavailable" (the store could not be
// reached) or "store error" (any other failure) and the error. Decisions
// cached at a confirmed version are served until the bound passes, not
// longer.
//
// Fail-open (WithFailOpen(window), off by default): only when the store
// cannot be reached — a network error (refused, reset, an I/O timeout), a
// connection lost mid-reply, a timeout inside the store, pgx's
// never-sent errors (pgconn.SafeToRetry), PostgreSQL's class 08,
// 57P01-57P03 and 53300, or an error wrapping ErrUnavailable from a Store
// of one's own — a check gets the last decision this engine made (or
// read from L2) for the same subject, resource and action, if that was
// made within window before now; a decision a condition took part in is
// never reused, nor one that relied on a grant expired since, and a
// request decided longer ago or never is still denied. The answer's Reason starts "fail-open: store unavailable" and
// says when the original decision was made; such answers are counted
// (privilege.failopen, and privilege.checks with source "failopen"),
// audited with Source "failopen", and logged: one warning per outage (the
// engine's logger, WithLogger), one info line when the store answers
// again. The last decisions are kept apart from L1 (an LRU of 10,000), so
// a write does not clear them — which is the point, and the risk: a
// revoke made just before the outage is not seen by a fail-open answer.
// A failure that says the data or the caller is wrong is never answered
// open: a stored policy that no longer compiles, a store (or pool) the
// application closed (ErrClosed), ErrInvalid, a cancelled call — nor any
// error not recognised as an outage; those are "store error" denies.
//
// # PostgreSQL
//
// NewPostgresStore(ctx, pool) keeps the rules in tables prefixed
// privilege_ (so they sit beside an application's own users and roles):
// privilege_roles, privilege_role_parents (the DAG: several parents per
// role, in the order given), privilege_users, privilege_user_roles
// (is_active, expires_at; a Revoke keeps the row, inactive, with
// revoked_at), privilege_role_permissions, privilege_abac_policies (the
// whole Policy as a JSONB document, effect spelled "permit"/"deny";
// priority and is_active copied out for the index), privilege_audit and
// privilege_version (one row, the Version) and privilege_store (one row,
// the database's random id, StoreID). The constructor runs
// Migrate: the schema's versions are embedded SQL files, recorded in
// privilege_schema_migrations as they are applied, in one transaction
// under an advisory lock, so it is idempotent and instances starting
// together take turns; a database migrated by newer code is left alone.
// The seed's index predicate `expires_at > CURRENT_TIMESTAMP` is dropped
// (PostgreSQL refuses non-immutable predicates): expiry is compared at
// read time with the caller's now, so a grant stops counting at its
// expiry without any write. The pool stays the caller's.
//
// Writes: every write runs in one read-committed transaction that first
// bumps privilege_version; that row's lock, held to commit, makes writes
// to one database run one at a time (across instances), and the checks a
// write makes (cycles and depth against the stored hierarchy, conflicts
// against the stored policies) read after it, so two concurrent writes
// cannot together make a cycle or a conflict. A write that is refused or
// changes nothing (deleting or revoking what is not there, putting a
// permission again) rolls back: the version does not move. On commit, a
// NOTIFY privilege_changed (ChangeChannel) carries the new version;
// PostgresStore.Watch (the Watcher an Engine uses) listens to it.
//
// EffectiveRoles is one recursive CTE up from the user's unrevoked,
// unexpired grants of active roles; inactive roles are walked through and
// left out, and each role's Expires is the earliest expiry among the
// grants it comes through (over every path). Its cost is in the user's
// grants and their ancestors (indexes on user_roles and role_parents),
// never in the number of rules; UNION keeps a DAG's shared ancestors from
// multiplying rows. The walk also stops at depth MaxRoleDepth: a backstop
// only (writes refuse deeper chains), for rows written around the store,
// by hand in SQL, even a cycle.
//
// # Middleware
//
// Engine.Middleware(mapper) is the filter in front of handlers: mapper
// turns each request into a Request, the engine checks it, and only an
// allowed request reaches the handler, with its Decision in the context
// (DecisionFromContext). Routes is the mapper most services want: a table
// of net/http ServeMux patterns to a resource template and an action,
//
//	m, err := privilege.Routes{
//		{Pattern: "GET /orders/{id}", Resource: "orders/{id}", Action: "read"},
//		{Pattern: "POST /orders/{id}/items", Resource: "orders/{id}/items", Action: "write"},
//	}.Mapper()
//	handler = sm.Middleware(e.Middleware(m)(mux)) // sm: a *session.Manager
//
// matched by an internal ServeMux (its precedence rules, GET covering
// HEAD), wildcards filled into the template. A request no route matches,
// one with an unclean path, and one whose single-segment wildcard holds
// an escaped "/" are denied (403, reason "no route"); a catch-all route
// ("/{path...}") maps the rest when that is wanted. A bad table is an
// error from Mapper (ErrInvalid), never a panic.
//
// The subject, when the mapper leaves it empty, is the session's
// (session.PrincipalFromContext): UserID as Subject, Username, Roles and
// Attrs as subject attributes for conditions (RBAC uses the Store's
// grants, not the session's roles). Answers are JSON and never reach the
// handler: no subject 401 {"error"}; denied 403 {"allowed": false,
// "reason", "policy_id", "role"}; the engine unable to decide (store
// unreachable, engine closed) 503 {"error"}: fail closed.
//
// # Audit
//
// WithAudit(sink, sampleAllows) sends decisions to an AuditSink: every
// Check and every request of a CheckBatch, whether decided from L1
// (Source "l1"), from L2 ("l2"), computed ("computed"), answered by
// WithFailOpen ("failopen") or failed closed ("error": a bad request, the
// store unreachable, the engine closed). An AuditEvent holds
// the request's subject, resource and action, the Decision (allowed,
// reason, policy id, role, version) and the engine's time. sampleAllows
// is the fraction of allows sent (1: all); denies are never sampled away.
// The sink is called on the checking goroutine after the decision, with
// no lock held; a panic in it is recovered and counted
// (privilege.audit.panics) and the decision stands. SlogAudit(logger) is
// a sink writing one Info record per event. With no sink Check does no
// audit work at all (an L1 hit allocates nothing).
//
// Two batched sinks keep Check free of I/O: NewPostgresAudit(pool) writes
// to the privilege_audit table (decided_at, subject, resource, action,
// allowed, reason, policy_id, role, version, source, batch_id; indexed by
// subject and time, and by time; Migrate or MigratePostgres creates it),
// and privilege/mqaudit publishes one JSON message per decision to an mq
// topic, keyed by subject (its package doc has the schema). Their Audit
// only queues the event; one writer per sink writes a batch when
// WithAuditBatch's size is queued or its interval has passed (500 events
// or one second by default), PostgresAudit with one COPY per batch. A
// full queue (WithAuditQueue, 10,000 by default) drops the event rather
// than block Check: it is counted (privilege.audit.dropped, by sink) and
// logged once per burst, never from Check. A failed write is retried with
// backoff (WithAuditRetry: 5 attempts by default), in order; a batch the
// database or broker refuses for its content (PostgreSQL data,
// constraint or program-limit errors such as a subject too long to
// index; mq's invalid or too large) is split until the bad
// event is found, which alone is given up, so one bad event holds up
// neither its batch nor the next; what is given up is counted
// (privilege.audit.failed) and logged, and privilege.audit.written counts
// the rest. PostgresAudit writes each event once: a retry first looks for
// its batch (by batch_id), so a COPY whose commit went through while its
// answer was lost is not written again; each attempt holds a lock on
// the batch id, so the look-up also waits for an earlier attempt the
// server is still running after its connection was lost (a batch given
// up after its last attempt may still have landed). The mq sink delivers at least once,
// with each message's ID fixed across retries for consumers' dedup.
// Shutdown(ctx) writes what is queued and stops the writer (no goroutine
// outlives it); it is idempotent, later events are dropped and counted,
// and it returns an error if events queued before it could not be
// written, or ctx's error if ctx ended first (what was left is counted as
// failed). It does not close the pool or the mq Client, and unregisters
// the counters.
//
// # Admin
//
// Engine.AdminHandler() is an HTTP handler for the rules: a JSON API and
// a small HTML page (html/template and one same-origin script, embedded;
// no build step). Mount it under a prefix, behind session's Middleware
// and CSRF (sm: a *session.Manager):
//
//	mux.Handle("/admin/privilege/", http.StripPrefix("/admin/privilege", e.AdminHandler()))
//	http.ListenAndServe(addr, sm.Middleware(sm.CSRF(mux)))
//
// Paths, relative to the prefix (IDs are path segments, escaped as URLs
// escape them):
//
//	GET /                                      the page
//	GET /api/roles, GET|PUT|DELETE /api/roles/{id}
//	GET|PUT /api/roles/{id}/permissions        PUT {"resource","action"}
//	DELETE /api/roles/{id}/permissions?resource=..&action=..
//	GET /api/users/{user}/grants, PUT|DELETE /api/users/{user}/grants/{role}
//	                                           PUT {"expires": RFC 3339} or {}
//	GET /api/policies, GET|PUT|DELETE /api/policies/{id}
//	POST /api/check                            {"subject","resource","action",
//	                                            "subject_attrs","resource_attrs","env"}
//
// A role body is {"name", "parents", "active"}, a policy body {"name",
// "priority", "effect": "permit"|"deny", "target": {"subjects",
// "resources", "actions"}, "condition", "active"}; "active" defaults to
// true, an "id" in a body must be the path's. PUT answers 200 with what
// was stored, DELETE 204 (also when there was nothing to delete, so a
// retry succeeds), check the Decision {"allowed", "reason", "policy_id",
// "role", "version"}. Policies are listed inactive ones included
// (PolicyLister; a Store without it lists the active ones).
//
// Guard: every call is decided by the engine itself for the session's
// user (session.PrincipalFromContext; none: 401), on the resource
// "privilege/<kind>[/<id>]" with the action "read" (GET, and check) or
// "write" (PUT, DELETE); denied: 403 with the reason. The kinds: page
// (the HTML page), roles and roles/<id>, permissions/<role>,
// grants/<user>, policies and policies/<id>, check, and bind/<role>
// (below). An operator makes
// admins with a role holding privilege/* for read and write:
//
//	st.PutRole(ctx, privilege.Role{ID: "privilege-admin", Active: true})
//	st.PutPermission(ctx, "privilege-admin", privilege.Permission{Resource: "privilege/*", Action: "read"})
//	st.PutPermission(ctx, "privilege-admin", privilege.Permission{Resource: "privilege/*", Action: "write"})
//	st.Grant(ctx, userID, "privilege-admin", time.Time{})
//
// or narrower ones (read alone for auditors). Handing out a role needs a
// second right, so that a narrow admin cannot widen itself: a grant or
// a revoke of role R, and a PUT of a role naming R among its parents
// (every parent, kept or new), also need write on "privilege/bind/R" (as
// Kubernetes' "bind" verb). A help desk that may grant support roles to
// anyone holds privilege/grants/* and privilege/bind/support-* for
// write. Write on policies, or on the permissions of a role one holds
// or may bind, amounts to every right: give them to full admins only.
//
// CSRF: a write (any method but GET and HEAD) is served only when
// session.Manager.CSRF checked it (token and Origin), else 403; the page
// sends the token it was rendered with in X-CSRF-Token. Go's
// http.CrossOriginProtection refuses cross-site writes as well. A body
// must be Content-Type application/json (else 415), at most 64 KiB
// (else 413), exactly one JSON value with no unknown field and no NUL
// (else 400).
//
// Errors are JSON {"error", "field"?, "line"?, "column"?}: 400 for a bad
// body, ID or value (ErrInvalid; ErrBadCondition with the condition's
// line and column from ConditionError; an unknown parent names the
// field "parents"), 409 for ErrCycle and ErrConflict, 404 for a role or
// policy the path names that does not exist, 405 (ServeMux) for a method
// a path lacks, 503 when the engine cannot decide or the store is closed,
// 500 (details logged, not sent) for anything else. IDs must be 1 to 256
// bytes of UTF-8 without control characters, and not "." or "..".
//
// The page sets a Content-Security-Policy allowing only its own script
// and style (no inline code) and puts every value in the page as text.
//
// # Errors
//
// ErrInvalid: a bad argument (empty IDs, a bad pattern, an unknown effect,
// a bad option). ErrNotFound: a role that does not exist where one is
// needed (a parent, a grant, a permission). ErrCycle, ErrBadCondition,
// ErrConflict (not with AllowConflicts): refused writes, as above.
// ErrClosed: any call after Close. ErrUnavailable: wrapped by a Store of
// one's own in errors that mean it could not be reached (WithFailOpen).
// Deleting or revoking what does not exist is not an error, so a retried
// call succeeds. Errors are wrapped with the operation and name the
// package once: "privilege: put policy: policy "x": bad condition: line 1,
// column 17: …"; match them with errors.Is.
//
// # Guarantees
//
// Fail closed: when Check returns an error (a bad request, the store
// unreachable, the engine closed) its Decision is a deny with a reason.
// A cancelled context is an error, never a skipped deny policy. The one
// exception is asked for: WithFailOpen, for an unreachable store only.
//
// No stale decision: a decision is keyed by the version it was decided
// at, and that version is read (or learnt, after its commit) before the
// data it is computed from, so the data is at least as new as its label;
// a decision made on older rules is never served once the engine decides
// at a newer version, including when a write lands while a decision is
// being computed. The engine decides at a version at most WithMaxStaleness
// old (see # Caching): that is the propagation delay of a revoke to every
// instance ("new enemy"), whatever happens to notifications and Redis. A
// cached decision that relied on an expiring grant is not served at or
// after that expiry.
//
// Read-your-writes: a write through a store value (a *PostgresStore, a
// *MemoryStore) is seen by the next check of every engine built on that
// same value; engines on another value, in this process or another, see
// it within the bound.
//
// Metrics, read from atomics at collection time (WithMeterProvider):
// privilege.checks by decision (allow, deny, error) and source (l1, l2,
// computed, failopen; "none" for errors); privilege.l2.errors (Redis
// calls failed or timed out); privilege.failopen (fail-open answers);
// privilege.version.reads (reads of the store's version on the check
// path, by engines tracking it); privilege.audit.panics. The batched
// sinks count, by sink ("postgres", "mq"), privilege.audit.dropped,
// privilege.audit.failed and privilege.audit.written (# Audit; their
// provider is WithAuditMeterProvider's).
package privilege
