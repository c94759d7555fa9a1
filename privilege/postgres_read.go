package privilege

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// effectiveRolesSQL walks up from the user's active, unexpired grants of
// active roles through every parent; an inactive role is walked through
// but left out at the end (it gives nothing, the active roles above it
// still count), and a grant of an inactive role starts no walk. Each row
// carries its grant's expiry; a role's Expires is the earliest among the
// grants it comes through (min ignores NULL, "for good"). UNION drops
// repeated (role, granted role, depth, expiry) rows — the expiry is the
// granted role's, so it adds none — so a DAG's many paths cost at most
// roles × grants × MaxRoleDepth rows, never one per path; DISTINCT ON
// keeps each role once, at its shallowest depth (then by granted role).
// The depth cut is a backstop (PutRole refuses deeper chains). It reads
// the user's grants and their ancestors only, through the indexes on
// user_roles and role_parents.
const effectiveRolesSQL = `WITH RECURSIVE eff(role_id, via, depth, expires_at) AS (
    SELECT ur.role_id, ur.role_id, 0, ur.expires_at
    FROM privilege_user_roles ur JOIN privilege_roles r ON r.id = ur.role_id
    WHERE ur.user_id = $1 AND ur.is_active AND (ur.expires_at IS NULL OR ur.expires_at > $2) AND r.is_active
  UNION
    SELECT rp.parent_id, eff.via, eff.depth + 1, eff.expires_at
    FROM eff JOIN privilege_role_parents rp ON rp.role_id = eff.role_id
    WHERE eff.depth + 1 < $3
), one AS (
  SELECT DISTINCT ON (role_id) role_id, via, depth, min(expires_at) OVER (PARTITION BY role_id) AS expires_at
  FROM eff ORDER BY role_id, depth, via
)
SELECT r.id, r.name, r.is_active, one.via, one.expires_at,
  ARRAY(SELECT parent_id FROM privilege_role_parents WHERE role_id = r.id ORDER BY pos),
  ARRAY(SELECT resource FROM privilege_role_permissions WHERE role_id = r.id ORDER BY resource, action),
  ARRAY(SELECT action FROM privilege_role_permissions WHERE role_id = r.id ORDER BY resource, action)
FROM one JOIN privilege_roles r ON r.id = one.role_id AND r.is_active
ORDER BY one.depth, r.id`

// EffectiveRoles returns the roles userID holds at now (see Store): its
// grants that are unrevoked and unexpired at now (expires_at > now) of
// active roles, and their active ancestors, each once, nearest first,
// with their permissions and the earliest expiry of the grants they come
// through. Expiry needs no write.
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
	var exp *time.Time
	_, err = pgx.ForEachRow(rows, []any{&e.Role.ID, &e.Role.Name, &e.Role.Active, &e.Via, &exp, &e.Role.Parents, &resources, &actions}, func() error {
		r := e
		if exp != nil {
			r.Expires = *exp
		}
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
