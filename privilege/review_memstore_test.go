package privilege_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

// naiveRoles is the reference the MemoryStore review checks against:
// every answer recomputed from scratch, nothing kept incrementally.
type naiveRoles struct {
	parents map[string][]string
	active  map[string]bool
	grants  map[string]map[string]time.Time // user → role → expiry
}

// longestChain is the longest chain of roles (counted in roles) in g, or
// -1 when g has a cycle.
func longestChain(g map[string][]string) int {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	height := map[string]int{}
	var visit func(id string) bool
	visit = func(id string) bool {
		switch color[id] {
		case grey:
			return false
		case black:
			return true
		}
		color[id] = grey
		h := 1
		for _, p := range g[id] {
			if !visit(p) {
				return false
			}
			h = max(h, height[p]+1)
		}
		color[id], height[id] = black, h
		return true
	}
	best := 0
	for id := range g {
		if !visit(id) {
			return -1
		}
		best = max(best, height[id])
	}
	return best
}

// accepts reports whether PutRole(r) should succeed on n.
func (n *naiveRoles) accepts(r privilege.Role) bool {
	seen := map[string]bool{}
	for _, p := range r.Parents {
		if _, ok := n.parents[p]; !ok || p == r.ID || seen[p] {
			return false
		}
		seen[p] = true
	}
	g := make(map[string][]string, len(n.parents)+1)
	for k, v := range n.parents {
		g[k] = v
	}
	g[r.ID] = r.Parents
	l := longestChain(g)
	return l >= 0 && l <= privilege.MaxRoleDepth
}

func (n *naiveRoles) effective(user string, now time.Time) []string {
	var queue []string
	for role, exp := range n.grants[user] {
		if n.active[role] && (exp.IsZero() || now.Before(exp)) {
			queue = append(queue, role)
		}
	}
	seen := map[string]bool{}
	var out []string
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		if n.active[id] {
			out = append(out, id)
		}
		queue = append(queue, n.parents[id]...)
	}
	slices.Sort(out)
	return out
}

// TestReviewMemoryStoreAgainstNaive drives MemoryStore with random role
// puts (re-parenting, deep chains, would-be cycles), deletes and re-puts
// of the same IDs (slot reuse), grants and revokes, and compares every
// answer with the from-scratch reference: a refused put, an effective
// role set or a grant list differing means a stale children list or a
// grant surviving its role.
func TestReviewMemoryStoreAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	n := &naiveRoles{parents: map[string][]string{}, active: map[string]bool{}, grants: map[string]map[string]time.Time{}}
	now := time.Unix(1_700_000_000, 0)
	ids := make([]string, 14)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%02d", i)
	}
	users := []string{"u0", "u1", "u2", "u3"}
	for step := range 20000 {
		id := ids[rng.IntN(len(ids))]
		user := users[rng.IntN(len(users))]
		switch op := rng.IntN(10); {
		case op < 5:
			var parents []string
			for range rng.IntN(3) {
				parents = append(parents, ids[rng.IntN(len(ids))])
			}
			r := privilege.Role{ID: id, Parents: parents, Active: rng.IntN(6) != 0}
			err := s.PutRole(bg, r)
			if want := n.accepts(r); want != (err == nil) {
				t.Fatalf("step %d: PutRole(%+v) = %v, reference accepts: %v (roles %v)", step, r, err, want, n.parents)
			}
			if err == nil {
				n.parents[id], n.active[id] = slices.Clone(parents), r.Active
			}
		case op < 6:
			must(t, s.DeleteRole(bg, id))
			if _, ok := n.parents[id]; ok {
				delete(n.parents, id)
				delete(n.active, id)
				for c, ps := range n.parents {
					n.parents[c] = slices.DeleteFunc(slices.Clone(ps), func(p string) bool { return p == id })
				}
				for _, gs := range n.grants {
					delete(gs, id)
				}
			}
		case op < 8:
			var exp time.Time
			if rng.IntN(2) == 0 {
				exp = now.Add(time.Duration(rng.IntN(3)-1) * time.Hour)
			}
			err := s.Grant(bg, user, id, exp)
			if _, ok := n.parents[id]; ok != (err == nil) {
				t.Fatalf("step %d: Grant(%s, %s) = %v, role exists: %v", step, user, id, err, ok)
			}
			if err == nil {
				if n.grants[user] == nil {
					n.grants[user] = map[string]time.Time{}
				}
				n.grants[user][id] = exp
			}
		default:
			must(t, s.Revoke(bg, user, id))
			delete(n.grants[user], id)
		}
		for _, u := range users {
			ers, err := s.EffectiveRoles(bg, u, now)
			must(t, err)
			var got []string
			for _, er := range ers {
				got = append(got, er.Role.ID)
			}
			slices.Sort(got)
			if want := n.effective(u, now); !slices.Equal(got, want) {
				t.Fatalf("step %d: EffectiveRoles(%s) = %v, reference %v", step, u, got, want)
			}
			gs, err := s.Grants(bg, u)
			must(t, err)
			var gotG, wantG []string
			for _, g := range gs {
				gotG = append(gotG, g.RoleID)
			}
			for r := range n.grants[u] {
				wantG = append(wantG, r)
			}
			slices.Sort(wantG)
			if !slices.Equal(gotG, wantG) {
				t.Fatalf("step %d: Grants(%s) = %v, reference %v", step, u, gotG, wantG)
			}
		}
	}
}

// TestReviewMemoryStoreDeleteRace: DeleteRole and re-put of the same IDs
// racing Grant, Revoke, EffectiveRoles and Grants (run with -race): no
// panic on a freed slot, and no grant ever names a role that is gone.
func TestReviewMemoryStoreDeleteRace(t *testing.T) {
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	ids := []string{"a", "b", "c", "d"}
	for _, id := range ids {
		must(t, s.PutRole(bg, privilege.Role{ID: id, Active: true}))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range 3000 {
				id := ids[rng.IntN(len(ids))]
				user := fmt.Sprintf("u%d", rng.IntN(3))
				switch rng.IntN(6) {
				case 0:
					_ = s.DeleteRole(bg, id)
				case 1:
					_ = s.PutRole(bg, privilege.Role{ID: id, Parents: []string{ids[rng.IntN(len(ids))]}, Active: true})
				case 2:
					_ = s.Grant(bg, user, id, time.Time{})
				case 3:
					_ = s.Revoke(bg, user, id)
				case 4:
					if _, err := s.EffectiveRoles(bg, user, time.Now()); err != nil {
						t.Error(err)
						return
					}
				default:
					if _, err := s.Grants(bg, user); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	roles, err := s.Roles(bg)
	must(t, err)
	exists := map[string]bool{}
	for _, r := range roles {
		exists[r.ID] = true
	}
	for u := range 3 {
		gs, err := s.Grants(bg, fmt.Sprintf("u%d", u))
		must(t, err)
		for _, g := range gs {
			if !exists[g.RoleID] {
				t.Fatalf("grant %+v names a role that is gone", g)
			}
		}
	}
}

// TestReviewMemoryStoreNilOptionFirst: NewMemoryStore ignores a nil
// option, as its doc says — and only that one: an option after it still
// applies.
func TestReviewMemoryStoreNilOptionFirst(t *testing.T) {
	s := privilege.NewMemoryStore(nil, privilege.AllowConflicts())
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "p", Priority: 1, Effect: privilege.Permit, Active: true}))
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "d", Priority: 1, Effect: privilege.Deny, Active: true}))
}
