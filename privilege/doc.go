// Package privilege decides who may do what: RBAC with a role hierarchy
// plus ABAC policies whose conditions are CEL expressions, with every
// decision explained.
//
// An Engine answers Check(ctx, Request) from a Store (NewMemoryStore, or
// NewPostgresStore for a shared one). Writes go to the store; the engine
// sees them at once through the store's Version.
//
// # Model
//
// RBAC: a Role has Permissions (resource and action patterns) and parents
// (a DAG: several parents, cycles refused with ErrCycle, chains of at most
// 10 roles). A user's effective roles are the active roles of their
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
// with ErrConflict.
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
// grows with the total number of rules. Decisions no condition took part
// in are kept in an in-process cache (L1, WithL1) keyed by subject,
// resource, action and store Version.
//
// # Errors
//
// ErrInvalid: a bad argument (empty IDs, a bad pattern, an unknown effect,
// a bad option). ErrNotFound: a role that does not exist where one is
// needed (a parent, a grant, a permission). ErrCycle, ErrBadCondition,
// ErrConflict: refused writes, as above. ErrClosed: any call after Close.
// Deleting or revoking what does not exist is not an error, so a retried
// call succeeds. Errors are wrapped with the operation; match them with
// errors.Is.
//
// # Guarantees
//
// Fail closed: when Check returns an error (a bad request, the store
// unreachable, the engine closed) its Decision is a deny with a reason.
// A cancelled context is an error, never a skipped deny policy.
//
// No stale decision: Check reads the store's Version before anything else
// and caches under it, so a decision computed on older rules is never
// served once the engine has seen a newer version, including when a write
// lands while a decision is being computed. A cached decision that relied
// on an expiring grant is not served at or after that expiry.
//
// Metrics: the counter privilege.checks, by decision (allow, deny, error)
// and source (l1, computed), read from atomics at collection time
// (WithMeterProvider).
package privilege
