package privilege

import (
	"context"
	"time"
)

// Store keeps roles, grants, permissions and policies. MemoryStore and
// PostgresStore implement it. Every write bumps Version, so that caches
// keyed by it never serve a decision made on older rules.
//
// Writes validate what they store: PutRole rejects unknown parents
// (ErrNotFound), cycles (ErrCycle) and chains longer than MaxRoleDepth
// (ErrInvalid); PutPolicy rejects a condition that does not compile
// (ErrBadCondition, via CompileCondition) and a conflict (ErrConflict,
// unless the store was made with AllowConflicts).
type Store interface {
	PutRole(ctx context.Context, r Role) error
	DeleteRole(ctx context.Context, id string) error
	Grant(ctx context.Context, userID, roleID string, expires time.Time) error
	Revoke(ctx context.Context, userID, roleID string) error
	PutPermission(ctx context.Context, roleID string, p Permission) error
	RemovePermission(ctx context.Context, roleID string, p Permission) error
	PutPolicy(ctx context.Context, p Policy) error
	DeletePolicy(ctx context.Context, id string) error

	// EffectiveRoles returns the roles userID holds at now: the active
	// roles of its unexpired grants and all their active ancestors, each
	// once, with the permissions of each. Its cost is in the user's roles,
	// never in the total number of rules.
	EffectiveRoles(ctx context.Context, userID string, now time.Time) ([]EffectiveRole, error)
	// Policies returns the active policies, highest priority first.
	Policies(ctx context.Context) ([]Policy, error)
	// Version is the number of writes so far (or any number that grows
	// with every write).
	Version(ctx context.Context) (uint64, error)

	// Listing, for the admin API.
	Roles(ctx context.Context) ([]Role, error)
	Grants(ctx context.Context, userID string) ([]Grant, error)
	RolePermissions(ctx context.Context, roleID string) ([]Permission, error)

	Close() error
}

// EffectiveRole is one role a user holds, directly or through a
// descendant it was granted, with the role's own permissions.
type EffectiveRole struct {
	Role        Role
	Via         string // the granted role it comes through (itself when granted directly)
	Permissions []Permission
	// Expires is when the role may stop being effective without a write:
	// zero only when no grant it comes through expires, otherwise no later
	// than the earliest expiry among them (earlier is allowed). The engine
	// caches no decision past it.
	Expires time.Time
}
