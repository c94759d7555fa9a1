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
//
// It is laid out for large rule sets: a grant is 16 pointer-free bytes
// (the role's slot number and the expiry as seconds and nanoseconds) in
// one small slice per user, so a user with a grant costs about its ID,
// one map entry and 16 bytes; and each role keeps its children, so that
// a PutRole costs the role's ancestors and descendants, never the number
// of roles.
type MemoryStore struct {
	mu       sync.RWMutex
	o        storeOptions
	id       string // StoreID, random
	roles    map[string]*memRole
	slots    []*memRole            // by memRole.slot; nil: free
	free     []int32               // free slots, reused by new roles
	grants   map[string][]memGrant // user → grants, each role once
	policies map[string]Policy
	version  atomic.Uint64 // read without the lock: Check reads it on every call
	shut     atomic.Bool   // closed; set under mu, read without it by Version
}

type memRole struct {
	role     Role
	slot     int32
	perms    []Permission // distinct, in insertion order
	children []string     // the roles that have this one as a parent
}

// memGrant is a grant of the role in slot role. The expiry is kept as
// Unix seconds and nanoseconds, nsec < 0 meaning never: no pointer (a
// time.Time holds a *Location), so the garbage collector never scans the
// grants and each takes 16 bytes instead of 32.
type memGrant struct {
	sec  int64
	nsec int32
	role int32
}

func newMemGrant(slot int32, expires time.Time) memGrant {
	if expires.IsZero() {
		return memGrant{nsec: -1, role: slot}
	}
	return memGrant{sec: expires.Unix(), nsec: int32(expires.Nanosecond()), role: slot}
}

func (g memGrant) expires() time.Time {
	if g.nsec < 0 {
		return time.Time{}
	}
	return time.Unix(g.sec, int64(g.nsec))
}

// liveAt reports whether the grant still counts at now.
func (g memGrant) liveAt(now time.Time) bool {
	if g.nsec < 0 {
		return true
	}
	sec := now.Unix()
	return sec < g.sec || sec == g.sec && int32(now.Nanosecond()) < g.nsec
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore. A nil option is ignored.
func NewMemoryStore(opts ...StoreOption) *MemoryStore {
	o, _ := applyStoreOptions(opts)
	return &MemoryStore{
		o:        o,
		id:       randomID(),
		roles:    make(map[string]*memRole),
		grants:   make(map[string][]memGrant),
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
	if s.shut.Load() {
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
	if s.shut.Load() {
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

func (s *MemoryStore) childrenOf(id string) []string {
	if r, ok := s.roles[id]; ok {
		return r.children
	}
	return nil
}

// PutRole creates or replaces a role (its permissions and grants stay).
// It costs the role's ancestors and, when it has parents, its
// descendants down to MaxRoleDepth levels: loading roles one by one is
// linear in their number.
func (s *MemoryStore) PutRole(ctx context.Context, r Role) error {
	return s.write(ctx, func() error {
		if err := validateRole(r, s.parentsOf, s.childrenOf); err != nil {
			return wrapOp("put role", err)
		}
		r.Parents = slices.Clone(r.Parents)
		if r.Name == r.ID {
			r.Name = r.ID // one string for both, as they often are
		}
		mr, ok := s.roles[r.ID]
		if ok {
			s.unlinkParents(mr)
			mr.role = r
		} else {
			mr = &memRole{role: r, slot: s.takeSlot()}
			s.slots[mr.slot] = mr
			s.roles[r.ID] = mr
		}
		for _, p := range r.Parents {
			pr := s.roles[p] // validateRole found every parent
			pr.children = append(pr.children, r.ID)
		}
		return nil
	})
}

// takeSlot returns a free slot for a new role.
func (s *MemoryStore) takeSlot() int32 {
	if n := len(s.free); n > 0 {
		slot := s.free[n-1]
		s.free = s.free[:n-1]
		return slot
	}
	s.slots = append(s.slots, nil)
	return int32(len(s.slots) - 1)
}

// unlinkParents takes r out of its parents' children.
func (s *MemoryStore) unlinkParents(r *memRole) {
	for _, p := range r.role.Parents {
		if pr := s.roles[p]; pr != nil {
			pr.children = slices.DeleteFunc(pr.children, func(c string) bool { return c == r.role.ID })
		}
	}
}

// DeleteRole removes a role, its permissions, its grants and its place
// among its children's parents. Deleting a role that does not exist is
// not an error, so a retried call succeeds. Finding its grants costs the
// number of users with grants.
func (s *MemoryStore) DeleteRole(ctx context.Context, id string) error {
	return s.write(ctx, func() error {
		r, ok := s.roles[id]
		if !ok {
			return nil
		}
		s.unlinkParents(r)
		for _, c := range r.children {
			if cr := s.roles[c]; cr != nil {
				cr.role.Parents = slices.DeleteFunc(cr.role.Parents, func(p string) bool { return p == id })
			}
		}
		// The grants go before the slot is freed: a grant left behind
		// would give its user the next role put in that slot.
		for user, gs := range s.grants {
			gs = slices.DeleteFunc(gs, func(g memGrant) bool { return g.role == r.slot })
			if len(gs) == 0 {
				delete(s.grants, user)
			} else {
				s.grants[user] = gs
			}
		}
		delete(s.roles, id)
		s.slots[r.slot] = nil
		s.free = append(s.free, r.slot)
		return nil
	})
}

// Grant gives userID the role until expires (zero: for good); granting
// again replaces the expiry.
func (s *MemoryStore) Grant(ctx context.Context, userID, roleID string, expires time.Time) error {
	return s.write(ctx, func() error {
		if userID == "" {
			return wrapOp("grant", fmt.Errorf("%w: user ID is empty", ErrInvalid))
		}
		r, ok := s.roles[roleID]
		if !ok {
			return wrapOp("grant", fmt.Errorf("%w: role %q", ErrNotFound, roleID))
		}
		g := newMemGrant(r.slot, expires)
		gs := s.grants[userID]
		if i := slices.IndexFunc(gs, func(h memGrant) bool { return h.role == r.slot }); i >= 0 {
			gs[i] = g
			return nil
		}
		s.grants[userID] = append(gs, g) // a first grant: a slice of exactly one
		return nil
	})
}

// Revoke takes the role from userID; revoking what is not granted is not
// an error.
func (s *MemoryStore) Revoke(ctx context.Context, userID, roleID string) error {
	return s.write(ctx, func() error {
		r, ok := s.roles[roleID]
		gs := s.grants[userID]
		if !ok || gs == nil {
			return nil
		}
		gs = slices.DeleteFunc(gs, func(g memGrant) bool { return g.role == r.slot })
		if len(gs) == 0 {
			delete(s.grants, userID)
		} else {
			s.grants[userID] = gs
		}
		return nil
	})
}

// PutPermission adds p to the role; adding it twice keeps one.
func (s *MemoryStore) PutPermission(ctx context.Context, roleID string, p Permission) error {
	return s.write(ctx, func() error {
		r, ok := s.roles[roleID]
		if !ok {
			return wrapOp("put permission", fmt.Errorf("%w: role %q", ErrNotFound, roleID))
		}
		if err := validatePermission(roleID, p); err != nil {
			return wrapOp("put permission", err)
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

// PutPolicy creates or replaces a policy. A condition that does not
// compile is ErrBadCondition; a conflict with a stored policy is
// ErrConflict unless the store was made with AllowConflicts.
func (s *MemoryStore) PutPolicy(ctx context.Context, p Policy) error {
	return s.write(ctx, func() error {
		var existing []Policy // the policies p could conflict with
		if !s.o.allowConflicts {
			for _, q := range s.policies {
				if q.Active && q.Priority == p.Priority {
					existing = append(existing, q)
				}
			}
		}
		if err := validatePolicy(p, existing); err != nil {
			return wrapOp("put policy", err)
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
		for _, g := range s.grants[userID] {
			if r := s.slots[g.role]; r.role.Active && g.liveAt(now) {
				queue = append(queue, step{r.role.ID, r.role.ID})
				if exp := g.expires(); !exp.IsZero() && (earliest.IsZero() || exp.Before(earliest)) {
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
		for _, g := range s.grants[userID] {
			out = append(out, Grant{UserID: userID, RoleID: s.slots[g.role].role.ID, Expires: g.expires()})
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
			return wrapOp("role permissions", fmt.Errorf("%w: role %q", ErrNotFound, roleID))
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
