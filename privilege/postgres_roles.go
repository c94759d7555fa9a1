package privilege

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PutRole creates or replaces a role and its parents. It is checked
// against the stored hierarchy read inside the write's transaction, after
// the write lock: two concurrent PutRoles cannot together make a cycle
// (ErrCycle) or a chain longer than MaxRoleDepth (ErrInvalid). An unknown
// parent is ErrNotFound.
func (s *PostgresStore) PutRole(ctx context.Context, r Role) error {
	op := fmt.Sprintf("put role %q", r.ID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		parentsOf, lookupErr, err := hierarchyLookup(ctx, tx, r.Parents)
		if err != nil {
			return err
		}
		childrenOf, err := descendantsLookup(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		verr := s.validateRole(r, parentsOf, childrenOf)
		if err := *lookupErr; err != nil {
			return err // the check ran on a failed read: its verdict means nothing
		}
		if verr != nil {
			return verr
		}
		s.hook(op)
		if _, err := tx.Exec(ctx, `INSERT INTO privilege_roles (id, name, is_active) VALUES ($1, $2, $3)
  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, is_active = EXCLUDED.is_active, updated_at = now()`,
			r.ID, r.Name, r.Active); err != nil {
			return roleWriteErr(r, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM privilege_role_parents WHERE role_id = $1`, r.ID); err != nil {
			return err
		}
		// validateRole refused a parent named twice.
		_, err = tx.Exec(ctx, `INSERT INTO privilege_role_parents (role_id, parent_id, pos)
  SELECT $1, p, n FROM unnest($2::text[]) WITH ORDINALITY AS u(p, n)`, r.ID, r.Parents)
		return roleWriteErr(r, err)
	})
}

// hierarchyLookup returns parentsOf for validateRole. It reads, in one
// query, every stored role reachable upward from ids (ids included) with
// its parents: all a cycle check starting from a role's new parents
// walks. Any other id is looked up when asked; an error of that lookup
// is left in *lookupErr (parentsOf cannot return one).
func hierarchyLookup(ctx context.Context, tx pgx.Tx, ids []string) (parentsOf func(string) ([]string, bool), lookupErr *error, err error) {
	known := map[string][]string{}
	rows, err := tx.Query(ctx, `WITH RECURSIVE up(id) AS (
    SELECT id FROM privilege_roles WHERE id = ANY($1::text[])
  UNION
    SELECT rp.parent_id FROM privilege_role_parents rp JOIN up ON rp.role_id = up.id)
SELECT up.id, ARRAY(SELECT parent_id FROM privilege_role_parents WHERE role_id = up.id ORDER BY pos) FROM up`, ids)
	if err != nil {
		return nil, nil, err
	}
	var id string
	var parents []string
	if _, err := pgx.ForEachRow(rows, []any{&id, &parents}, func() error {
		known[id] = append([]string(nil), parents...)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	var lerr error
	parentsOf = func(id string) ([]string, bool) {
		if p, ok := known[id]; ok {
			return p, true
		}
		if lerr != nil {
			return nil, false
		}
		var exists bool
		var ps []string
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM privilege_roles WHERE id = $1),
  ARRAY(SELECT parent_id FROM privilege_role_parents WHERE role_id = $1 ORDER BY pos)`, id).Scan(&exists, &ps); err != nil {
			lerr = err
			return nil, false
		}
		if !exists {
			return nil, false
		}
		known[id] = ps
		return ps, true
	}
	return parentsOf, &lerr, nil
}

// descendantsLookup returns childrenOf for validateRole: it reads, in one
// query, the child links of every stored role below id, down to
// MaxRoleDepth levels (the check looks no deeper; the bound also ends the
// query on a cycle written around the checks).
func descendantsLookup(ctx context.Context, tx pgx.Tx, id string) (func(string) []string, error) {
	rows, err := tx.Query(ctx, `WITH RECURSIVE down(id, depth) AS (
    SELECT $1::text, 0
  UNION
    SELECT rp.role_id, down.depth + 1 FROM privilege_role_parents rp JOIN down ON rp.parent_id = down.id
    WHERE down.depth < $2)
SELECT parent_id, array_agg(role_id) FROM privilege_role_parents
WHERE parent_id IN (SELECT id FROM down) GROUP BY parent_id`, id, MaxRoleDepth)
	if err != nil {
		return nil, err
	}
	children := map[string][]string{}
	var parent string
	var kids []string
	if _, err := pgx.ForEachRow(rows, []any{&parent, &kids}, func() error {
		children[parent] = append([]string(nil), kids...)
		return nil
	}); err != nil {
		return nil, err
	}
	return func(id string) []string { return children[id] }, nil
}

// roleWriteErr turns the schema's constraint errors into the package's.
func roleWriteErr(r Role, err error) error {
	switch pgCode(err) {
	case "23503": // foreign_key_violation: a parent that is not a role
		return fmt.Errorf("%w: role %q: a parent in %q is not a role", ErrNotFound, r.ID, r.Parents)
	case "23514": // check_violation: empty id, or the role its own parent
		return fmt.Errorf("%w: role %q: empty id, or the role is its own parent", ErrInvalid, r.ID)
	}
	return err
}

// DeleteRole deletes a role and everything that hangs on it: its
// permissions, its grants (revoked or not) and its place among other
// roles' parents, so its children and holders lose what it gave them.
// Deleting a role that does not exist changes nothing and is no error,
// so a retried DeleteRole succeeds.
func (s *PostgresStore) DeleteRole(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete role %q", id)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		s.hook(op)
		// Parent links and grants first: their foreign keys do not cascade.
		// Permissions and the role's own parent links go by ON DELETE CASCADE.
		if _, err := tx.Exec(ctx, `DELETE FROM privilege_role_parents WHERE parent_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM privilege_user_roles WHERE role_id = $1`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM privilege_roles WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return errNoChange // nothing of it can exist either: the rows above need the role
		}
		return err
	})
}

// Grant gives userID the role roleID until expires (zero: for good),
// replacing an earlier grant of it (and its expiry) or undoing a Revoke.
// An expiry needs no write: reads compare it with their now. An unknown
// role is ErrNotFound.
func (s *PostgresStore) Grant(ctx context.Context, userID, roleID string, expires time.Time) error {
	if userID == "" || roleID == "" {
		return fmt.Errorf("%w: grant: empty user (%q) or role (%q)", ErrInvalid, userID, roleID)
	}
	var exp any // NULL: for good
	if !expires.IsZero() {
		exp = expires
	}
	op := fmt.Sprintf("grant role %q to %q", roleID, userID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		s.hook(op)
		if _, err := tx.Exec(ctx, `INSERT INTO privilege_users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO privilege_user_roles (user_id, role_id, expires_at) VALUES ($1, $2, $3)
  ON CONFLICT (user_id, role_id) DO UPDATE
  SET is_active = true, expires_at = EXCLUDED.expires_at, granted_at = now(), revoked_at = NULL`, userID, roleID, exp)
		if pgCode(err) == "23503" {
			return fmt.Errorf("%w: grant: role %q", ErrNotFound, roleID)
		}
		return err
	})
}

// Revoke ends userID's grant of roleID at once. The row stays, inactive,
// as a record (Grants does not list it). Revoking what is not granted
// changes nothing and is no error, so a retried Revoke succeeds.
func (s *PostgresStore) Revoke(ctx context.Context, userID, roleID string) error {
	op := fmt.Sprintf("revoke role %q from %q", roleID, userID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		s.hook(op)
		tag, err := tx.Exec(ctx, `UPDATE privilege_user_roles SET is_active = false, revoked_at = now()
  WHERE user_id = $1 AND role_id = $2 AND is_active`, userID, roleID)
		if err == nil && tag.RowsAffected() == 0 {
			return errNoChange
		}
		return err
	})
}

// PutPermission gives roleID the permission p (stored once however often
// it is put). An empty or bad pattern is ErrInvalid, an unknown role
// ErrNotFound.
func (s *PostgresStore) PutPermission(ctx context.Context, roleID string, p Permission) error {
	if err := validatePermission(roleID, p); err != nil {
		return wrapOp("put permission", err)
	}
	op := fmt.Sprintf("put permission %s %s on role %q", p.Action, p.Resource, roleID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		s.hook(op)
		tag, err := tx.Exec(ctx, `INSERT INTO privilege_role_permissions (role_id, resource, action) VALUES ($1, $2, $3)
  ON CONFLICT DO NOTHING`, roleID, p.Resource, p.Action)
		if pgCode(err) == "23503" {
			return fmt.Errorf("%w: permission: role %q", ErrNotFound, roleID)
		}
		if err == nil && tag.RowsAffected() == 0 {
			return errNoChange
		}
		return err
	})
}

// RemovePermission takes p from roleID. Removing what is not there
// changes nothing and is no error.
func (s *PostgresStore) RemovePermission(ctx context.Context, roleID string, p Permission) error {
	op := fmt.Sprintf("remove permission %s %s from role %q", p.Action, p.Resource, roleID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		s.hook(op)
		tag, err := tx.Exec(ctx, `DELETE FROM privilege_role_permissions WHERE role_id = $1 AND resource = $2 AND action = $3`,
			roleID, p.Resource, p.Action)
		if err == nil && tag.RowsAffected() == 0 {
			return errNoChange
		}
		return err
	})
}
