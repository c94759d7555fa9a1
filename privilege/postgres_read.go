package privilege

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MaxRoleDepth bounds the hierarchy walk of PostgresStore.EffectiveRoles,
// the seed's "depth < 10": a granted role is at depth 0, its parents at
// 1, and so on; an ancestor at depth MaxRoleDepth or more is not reached,
// so it and the permissions only it brings do not count for that user.
// The bound also ends the walk if a cycle was ever written around the
// store's checks (by hand, in SQL).
const MaxRoleDepth = 10

// effectiveRolesSQL walks up from the user's active, unexpired grants of
// active roles through active parents: an inactive role stops the walk,
// so it grants nothing to its holders or its children. UNION drops
// repeated (role, granted role, depth) rows, so a DAG's many paths cost
// at most roles × grants × MaxRoleDepth rows, never one per path; the
// outer DISTINCT ON keeps each role once, at its shallowest depth (then
// by granted role). It reads the user's grants and their
// ancestors only, through the indexes on user_roles and role_parents.
const effectiveRolesSQL = `WITH RECURSIVE eff(role_id, via, depth) AS (
    SELECT ur.role_id, ur.role_id, 0
    FROM privilege_user_roles ur JOIN privilege_roles r ON r.id = ur.role_id
    WHERE ur.user_id = $1 AND ur.is_active AND (ur.expires_at IS NULL OR ur.expires_at > $2) AND r.is_active
  UNION
    SELECT rp.parent_id, eff.via, eff.depth + 1
    FROM eff JOIN privilege_role_parents rp ON rp.role_id = eff.role_id
    JOIN privilege_roles p ON p.id = rp.parent_id AND p.is_active
    WHERE eff.depth + 1 < $3
), one AS (
  SELECT DISTINCT ON (role_id) role_id, via, depth FROM eff ORDER BY role_id, depth, via
)
SELECT r.id, r.name, r.is_active, one.via,
  ARRAY(SELECT parent_id FROM privilege_role_parents WHERE role_id = r.id ORDER BY pos),
  ARRAY(SELECT resource FROM privilege_role_permissions WHERE role_id = r.id ORDER BY resource, action),
  ARRAY(SELECT action FROM privilege_role_permissions WHERE role_id = r.id ORDER BY resource, action)
FROM one JOIN privilege_roles r ON r.id = one.role_id
ORDER BY one.depth, r.id`

// EffectiveRoles returns the roles userID holds at now (see Store): its
// grants that are unrevoked and unexpired at now (expires_at > now) of
// active roles, and their active ancestors up to MaxRoleDepth, each once,
// nearest first, with their permissions. Expiry needs no write.
func (s *PostgresStore) EffectiveRoles(ctx context.Context, userID string, now time.Time) ([]EffectiveRole, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, effectiveRolesSQL, userID, now, MaxRoleDepth)
	if err != nil {
		return nil, pgError(ctx, fmt.Sprintf("effective roles of %q", userID), err)
	}
	var out []EffectiveRole
	var e EffectiveRole
	var resources, actions []string
	_, err = pgx.ForEachRow(rows, []any{&e.Role.ID, &e.Role.Name, &e.Role.Active, &e.Via, &e.Role.Parents, &resources, &actions}, func() error {
		r := e
		r.Role.Parents = copyNonEmpty(e.Role.Parents)
		r.Permissions = nil
		for i := range resources {
			r.Permissions = append(r.Permissions, Permission{Resource: resources[i], Action: actions[i]})
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, pgError(ctx, fmt.Sprintf("effective roles of %q", userID), err)
	}
	return out, nil
}

// Version returns the number of writes committed so far.
func (s *PostgresStore) Version(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	var v uint64
	err := s.pool.QueryRow(ctx, `SELECT version FROM privilege_version WHERE id = 1`).Scan(&v)
	return v, pgError(ctx, "version", err)
}

// Roles returns every role, active or not, by id.
func (s *PostgresStore) Roles(ctx context.Context) ([]Role, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT id, name, is_active,
  ARRAY(SELECT parent_id FROM privilege_role_parents WHERE role_id = r.id ORDER BY pos)
FROM privilege_roles r ORDER BY id`)
	if err != nil {
		return nil, pgError(ctx, "roles", err)
	}
	var out []Role
	var r Role
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Name, &r.Active, &r.Parents}, func() error {
		c := r
		c.Parents = copyNonEmpty(r.Parents)
		out = append(out, c)
		return nil
	})
	return out, pgError(ctx, "roles", err)
}

// Grants returns userID's unrevoked grants, expired ones included (with
// their Expires), by role.
func (s *PostgresStore) Grants(ctx context.Context, userID string) ([]Grant, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT user_id, role_id, expires_at FROM privilege_user_roles
  WHERE user_id = $1 AND is_active ORDER BY role_id`, userID)
	if err != nil {
		return nil, pgError(ctx, fmt.Sprintf("grants of %q", userID), err)
	}
	var out []Grant
	var g Grant
	var exp *time.Time
	_, err = pgx.ForEachRow(rows, []any{&g.UserID, &g.RoleID, &exp}, func() error {
		c := g
		if exp != nil {
			c.Expires = *exp
		}
		out = append(out, c)
		return nil
	})
	return out, pgError(ctx, fmt.Sprintf("grants of %q", userID), err)
}

// RolePermissions returns roleID's own permissions (not its ancestors'),
// by resource then action; an unknown role is ErrNotFound.
func (s *PostgresStore) RolePermissions(ctx context.Context, roleID string) ([]Permission, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	op := fmt.Sprintf("permissions of role %q", roleID)
	var exists bool
	var resources, actions []string
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM privilege_roles WHERE id = $1),
  ARRAY(SELECT resource FROM privilege_role_permissions WHERE role_id = $1 ORDER BY resource, action),
  ARRAY(SELECT action FROM privilege_role_permissions WHERE role_id = $1 ORDER BY resource, action)`, roleID).Scan(&exists, &resources, &actions)
	if err != nil {
		return nil, pgError(ctx, op, err)
	}
	if !exists {
		return nil, fmt.Errorf("%w: role %q", ErrNotFound, roleID)
	}
	var out []Permission
	for i := range resources {
		out = append(out, Permission{Resource: resources[i], Action: actions[i]})
	}
	return out, nil
}

// copyNonEmpty copies a scanned slice (the scan target is reused from
// row to row); empty is nil, as a Role without parents is written.
func copyNonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
