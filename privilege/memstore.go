package privilege

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryStore is a Store in process memory, for tests, examples and
// single-instance services. It is safe for concurrent use.
type MemoryStore struct {
	mu       sync.RWMutex
	closed   bool
	roles    map[string]*memRole
	grants   map[string]map[string]time.Time // user → role → expiry (zero: never)
	policies map[string]Policy
	version  atomic.Uint64 // read without the lock: Check reads it on every call
	shut     atomic.Bool   // closed, for Version's lock-free read
}

type memRole struct {
	role  Role
	perms []Permission // distinct, in insertion order
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		roles:    make(map[string]*memRole),
		grants:   make(map[string]map[string]time.Time),
		policies: make(map[string]Policy),
	}
}

// write runs f under the write lock and bumps the version when f succeeds.
func (s *MemoryStore) write(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := f(); err != nil {
		return err
	}
	s.version.Add(1)
	return nil
}

// read runs f under the read lock.
func (s *MemoryStore) read(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return f()
}

func (s *MemoryStore) parentsOf(id string) ([]string, bool) {
	r, ok := s.roles[id]
	if !ok {
		return nil, false
	}
	return r.role.Parents, true
}

// childrenOf returns a lookup of the roles that have a role as a parent,
// indexed on its first call (a write's cost, never a check's).
func (s *MemoryStore) childrenOf() func(string) []string {
	var children map[string][]string
	return func(id string) []string {
		if children == nil {
			children = make(map[string][]string)
			for cid, c := range s.roles {
				for _, p := range c.role.Parents {
					children[p] = append(children[p], cid)
				}
			}
		}
		return children[id]
	}
}

// PutRole creates or replaces a role (its permissions and grants stay).
func (s *MemoryStore) PutRole(ctx context.Context, r Role) error {
	return s.write(ctx, func() error {
		if err := validateRole(r, s.parentsOf, s.childrenOf()); err != nil {
			return fmt.Errorf("privilege: put role: %w", err)
		}
		r.Parents = slices.Clone(r.Parents)
		if old, ok := s.roles[r.ID]; ok {
			old.role = r
		} else {
			s.roles[r.ID] = &memRole{role: r}
		}
		return nil
	})
}

// DeleteRole removes a role, its permissions, its grants and its place
// among its children's parents. Deleting a role that does not exist is
// not an error, so a retried call succeeds.
func (s *MemoryStore) DeleteRole(ctx context.Context, id string) error {
	return s.write(ctx, func() error {
		delete(s.roles, id)
		for _, r := range s.roles {
			r.role.Parents = slices.DeleteFunc(r.role.Parents, func(p string) bool { return p == id })
		}
		for _, g := range s.grants {
			delete(g, id)
		}
		return nil
	})
}

// Grant gives userID the role until expires (zero: for good); granting
// again replaces the expiry.
func (s *MemoryStore) Grant(ctx context.Context, userID, roleID string, expires time.Time) error {
	return s.write(ctx, func() error {
		if userID == "" {
			return fmt.Errorf("privilege: grant: %w: user ID is empty", ErrInvalid)
		}
		if _, ok := s.roles[roleID]; !ok {
			return fmt.Errorf("privilege: grant: %w: role %q", ErrNotFound, roleID)
		}
		g := s.grants[userID]
		if g == nil {
			g = make(map[string]time.Time)
			s.grants[userID] = g
		}
		g[roleID] = expires
		return nil
	})
}

// Revoke takes the role from userID; revoking what is not granted is not
// an error.
func (s *MemoryStore) Revoke(ctx context.Context, userID, roleID string) error {
	return s.write(ctx, func() error {
		if g := s.grants[userID]; g != nil {
			delete(g, roleID)
			if len(g) == 0 {
				delete(s.grants, userID)
			}
		}
		return nil
	})
}

// PutPermission adds p to the role; adding it twice keeps one.
func (s *MemoryStore) PutPermission(ctx context.Context, roleID string, p Permission) error {
	return s.write(ctx, func() error {
		r, ok := s.roles[roleID]
		if !ok {
			return fmt.Errorf("privilege: put permission: %w: role %q", ErrNotFound, roleID)
		}
		if err := validatePermission(roleID, p); err != nil {
			return fmt.Errorf("privilege: put permission: %w", err)
		}
		if !slices.Contains(r.perms, p) {
			r.perms = append(r.perms, p)
		}
		return nil
	})
}

// RemovePermission takes p from the role; removing what is not there is
// not an error.
func (s *MemoryStore) RemovePermission(ctx context.Context, roleID string, p Permission) error {
	return s.write(ctx, func() error {
		if r, ok := s.roles[roleID]; ok {
			r.perms = slices.DeleteFunc(r.perms, func(q Permission) bool { return q == p })
		}
		return nil
	})
}

// PutPolicy creates or replaces a policy after validatePolicy.
func (s *MemoryStore) PutPolicy(ctx context.Context, p Policy) error {
	return s.write(ctx, func() error {
		existing := make([]Policy, 0, len(s.policies))
		for _, q := range s.policies {
			if q.Active && q.Priority == p.Priority {
				existing = append(existing, q)
			}
		}
		if err := validatePolicy(p, existing); err != nil {
			return fmt.Errorf("privilege: put policy: %w", err)
		}
		s.policies[p.ID] = clonePolicy(p)
		return nil
	})
}

// DeletePolicy removes a policy; deleting one that does not exist is not
// an error.
func (s *MemoryStore) DeletePolicy(ctx context.Context, id string) error {
	return s.write(ctx, func() error {
		delete(s.policies, id)
		return nil
	})
}

// EffectiveRoles implements Store: a walk up from the user's grants,
// costing the user's roles and their permissions only.
func (s *MemoryStore) EffectiveRoles(ctx context.Context, userID string, now time.Time) ([]EffectiveRole, error) {
	var out []EffectiveRole
	err := s.read(ctx, func() error {
		seen := make(map[string]bool)
		type step struct{ id, via string }
		var queue []step
		var earliest time.Time // of the grants that count; set on every role, which is allowed
		for roleID, exp := range s.grants[userID] {
			if r := s.roles[roleID]; r != nil && r.role.Active && (exp.IsZero() || now.Before(exp)) {
				queue = append(queue, step{roleID, roleID})
				if !exp.IsZero() && (earliest.IsZero() || exp.Before(earliest)) {
					earliest = exp
				}
			}
		}
		// Map order is random; sorting makes Via deterministic.
		slices.SortFunc(queue, func(a, b step) int { return cmp.Compare(a.id, b.id) })
		for len(queue) > 0 {
			st := queue[0]
			queue = queue[1:]
			if seen[st.id] {
				continue
			}
			seen[st.id] = true
			r := s.roles[st.id]
			if r == nil {
				continue
			}
			if r.role.Active {
				out = append(out, EffectiveRole{Role: cloneRole(r.role), Via: st.via, Permissions: slices.Clone(r.perms), Expires: earliest})
			}
			for _, p := range r.role.Parents {
				queue = append(queue, step{p, st.via})
			}
		}
		return nil
	})
	return out, err
}

// Policies implements Store.
func (s *MemoryStore) Policies(ctx context.Context) ([]Policy, error) {
	var out []Policy
	err := s.read(ctx, func() error {
		for _, p := range s.policies {
			if p.Active {
				out = append(out, clonePolicy(p))
			}
		}
		return nil
	})
	sortPolicies(out)
	return out, err
}

// Version implements Store.
func (s *MemoryStore) Version(ctx context.Context) (uint64, error) {
	// Check calls this on every request: an atomic, no lock and no
	// allocation.
	if s.shut.Load() {
		return 0, ErrClosed
	}
	return s.version.Load(), nil
}

// Roles implements Store, ordered by ID.
func (s *MemoryStore) Roles(ctx context.Context) ([]Role, error) {
	var out []Role
	err := s.read(ctx, func() error {
		for _, r := range s.roles {
			out = append(out, cloneRole(r.role))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Role) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// Grants implements Store: userID's grants, expired ones included,
// ordered by role ID.
func (s *MemoryStore) Grants(ctx context.Context, userID string) ([]Grant, error) {
	var out []Grant
	err := s.read(ctx, func() error {
		for roleID, exp := range s.grants[userID] {
			out = append(out, Grant{UserID: userID, RoleID: roleID, Expires: exp})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Grant) int { return cmp.Compare(a.RoleID, b.RoleID) })
	return out, err
}

// RolePermissions implements Store, ordered by resource then action.
func (s *MemoryStore) RolePermissions(ctx context.Context, roleID string) ([]Permission, error) {
	var out []Permission
	err := s.read(ctx, func() error {
		r, ok := s.roles[roleID]
		if !ok {
			return fmt.Errorf("privilege: role permissions: %w: role %q", ErrNotFound, roleID)
		}
		out = slices.Clone(r.perms)
		return nil
	})
	slices.SortFunc(out, comparePermissions)
	return out, err
}

// Close implements Store; it is idempotent.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.shut.Store(true)
	return nil
}

func comparePermissions(a, b Permission) int {
	return cmp.Or(cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.Action, b.Action))
}

// sortPolicies orders policies as Store.Policies promises: priority
// descending, then ID, so every store yields the same order.
func sortPolicies(ps []Policy) {
	slices.SortFunc(ps, func(a, b Policy) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.ID, b.ID))
	})
}

func cloneRole(r Role) Role {
	r.Parents = slices.Clone(r.Parents)
	return r
}

func clonePolicy(p Policy) Policy {
	p.Target = Target{
		Subjects:  slices.Clone(p.Target.Subjects),
		Resources: slices.Clone(p.Target.Resources),
		Actions:   slices.Clone(p.Target.Actions),
	}
	return p
}
