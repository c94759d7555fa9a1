package privilege

// The text below is the package doc's # PostgreSQL section, kept here
// while the parts of issue 16 are merged; the integrator moves it into
// doc.go.
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
// privilege_version (one row, the Version). The constructor runs
// Migrate: the schema's versions are embedded SQL files, recorded in
// privilege_schema_migrations as they are applied, in one transaction
// under an advisory lock, so it is idempotent and instances starting
// together take turns; a database migrated by newer code is left alone.
// The seed's index predicate `expires_at > CURRENT_TIMESTAMP` is dropped
// (PostgreSQL refuses non-immutable predicates): expiry is compared at
// read time with the caller's now, so a grant stops counting at its
// expiry without any write.
//
// Writes: every write runs in one read-committed transaction that first
// bumps privilege_version; that row's lock, held to commit, makes writes
// to one database run one at a time (across instances), and the checks a
// write makes (validateRole against the stored hierarchy, validatePolicy
// against the stored policies) read after it, so two concurrent writes
// cannot together make a cycle or a conflict. A write that is refused or
// changes nothing (revoking what is not granted, putting a permission
// again) rolls back: the version does not move. On commit, a
// NOTIFY privilege_changed (ChangeChannel) carries the new version.
//
// DeleteRole refuses (ErrInvalid, naming up to ten of each) while other
// roles have the role as a parent or users hold an unrevoked grant of it,
// expired or not: deleting would silently change what they may do. It
// deletes the role's permissions and revoked grants with it. Deleting an
// unknown role or policy is ErrNotFound; Revoke and RemovePermission of
// what is not there are no-ops, so a retry succeeds.
//
// EffectiveRoles is one recursive CTE from the user's unrevoked,
// unexpired grants of active roles up through active parents: an
// inactive role grants nothing to its holders or, through it, to its
// children. Its cost is in the user's grants and their ancestors
// (indexes on user_roles and role_parents), never in the number of rules;
// UNION keeps a DAG's shared ancestors from multiplying rows. The walk
// stops at depth MaxRoleDepth (10, the seed's depth < 10): the granted
// role is depth 0, so an ancestor ten or more levels above it, and any
// permission only it brings, does not count for that user.
