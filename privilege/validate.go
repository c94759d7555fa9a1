package privilege

import (
	"fmt"
)

// The checks both stores run on a write. They need nothing but the value
// written and a view of what is stored, so MemoryStore and PostgresStore
// call the same code (PostgresStore inside its write transaction).

// MaxRoleDepth bounds a chain of roles (a role and its ancestors above
// it), the seed's "depth < 10": PutRole refuses, with ErrInvalid, a role
// that would make a longer chain, in both stores. PostgresStore's
// recursive query also stops at this depth, as a backstop only: it ends
// the walk over rows written around the stores' checks (by hand, in SQL),
// even a cycle.
const MaxRoleDepth = 10

// CompileCondition compiles and type-checks a policy condition, a CEL
// expression over subject, resource, action and env; a bad one is
// ErrBadCondition with its line and column. An empty condition always
// holds.
func CompileCondition(expr string) error {
	_, err := compileCondition(expr)
	return err
}

// validatePolicy checks p on its own (ID, effect, patterns, condition)
// and against the existing active policies: a same-priority permit/deny
// pair on overlapping targets is ErrConflict. existing may hold p's own
// earlier version, which is ignored.
func validatePolicy(p Policy, existing []Policy) error {
	if p.ID == "" {
		return fmt.Errorf("%w: policy ID is empty", ErrInvalid)
	}
	if p.Effect != Permit && p.Effect != Deny {
		return fmt.Errorf("%w: policy %q: effect %d is neither Permit nor Deny", ErrInvalid, p.ID, int(p.Effect))
	}
	// In a fixed order, so a policy with several bad patterns is always
	// told of the same one.
	for _, f := range []struct {
		name string
		list []string
	}{{"target.subjects", p.Target.Subjects}, {"target.resources", p.Target.Resources}, {"target.actions", p.Target.Actions}} {
		for _, pat := range f.list {
			if err := checkPattern(fmt.Sprintf("policy %q: %s", p.ID, f.name), pat); err != nil {
				return err
			}
		}
	}
	if err := CompileCondition(p.Condition); err != nil {
		return wrapOp(fmt.Sprintf("policy %q", p.ID), err)
	}
	if !p.Active {
		return nil // an inactive policy decides nothing, so conflicts nothing
	}
	for _, q := range existing {
		if q.ID == p.ID || !q.Active || q.Priority != p.Priority || q.Effect == p.Effect {
			continue
		}
		if targetsOverlap(p.Target, q.Target) {
			return fmt.Errorf("%w: policy %q (%s) and %q (%s) have priority %d and overlapping targets",
				ErrConflict, p.ID, p.Effect, q.ID, q.Effect, p.Priority)
		}
	}
	return nil
}

func targetsOverlap(a, b Target) bool {
	return listsOverlap(a.Subjects, b.Subjects) && listsOverlap(a.Resources, b.Resources) && listsOverlap(a.Actions, b.Actions)
}

// validatePermission checks a permission's patterns.
func validatePermission(roleID string, p Permission) error {
	if err := checkPattern(fmt.Sprintf("role %q: permission resource", roleID), p.Resource); err != nil {
		return err
	}
	return checkPattern(fmt.Sprintf("role %q: permission action", roleID), p.Action)
}

// validateRole checks r on its own and that its parents exist (else
// ErrNotFound), make no cycle (ErrCycle) and no chain of roles longer
// than MaxRoleDepth (ErrInvalid) — counting r's stored descendants too,
// since a parent put on top of a role lengthens every chain through it.
// parentsOf returns a stored role's parents, childrenOf the stored roles
// that have id as a parent. The walks visit r's would-be ancestors, each
// once, and r's descendants, level by level, at most MaxRoleDepth levels.
func validateRole(r Role, parentsOf func(id string) (parents []string, ok bool), childrenOf func(id string) []string) error {
	if r.ID == "" {
		return fmt.Errorf("%w: role ID is empty", ErrInvalid)
	}
	seen := make(map[string]bool, len(r.Parents))
	for _, p := range r.Parents {
		switch {
		case p == "":
			return fmt.Errorf("%w: role %q: empty parent ID", ErrInvalid, r.ID)
		case p == r.ID:
			return fmt.Errorf("%w: role %q is its own parent", ErrCycle, r.ID)
		case seen[p]:
			return fmt.Errorf("%w: role %q: parent %q listed twice", ErrInvalid, r.ID, p)
		}
		seen[p] = true
		if _, ok := parentsOf(p); !ok {
			return fmt.Errorf("%w: role %q: parent %q", ErrNotFound, r.ID, p)
		}
	}
	// depth[id] is the longest chain of ancestors above id, memoized.
	depth := make(map[string]int)
	onPath := make(map[string]bool)
	var walk func(id string) (int, error)
	walk = func(id string) (int, error) {
		if id == r.ID {
			return 0, fmt.Errorf("%w: role %q would be its own ancestor", ErrCycle, r.ID)
		}
		if d, ok := depth[id]; ok {
			return d, nil
		}
		if onPath[id] { // a cycle already stored: refuse to build on it
			return 0, fmt.Errorf("%w: stored roles around %q", ErrCycle, id)
		}
		onPath[id] = true
		parents, _ := parentsOf(id)
		d := 0
		for _, p := range parents {
			pd, err := walk(p)
			if err != nil {
				return 0, err
			}
			d = max(d, pd+1)
		}
		onPath[id] = false
		depth[id] = d
		return d, nil
	}
	above := -1 // the longest chain above r, in roles; -1: no parents
	for _, p := range r.Parents {
		d, err := walk(p)
		if err != nil {
			return err
		}
		above = max(above, d+1)
	}
	if above < 0 {
		return nil // no parents: r's chains only get shorter
	}
	below := descendantLevels(r.ID, childrenOf)
	if n := above + 1 + below; n > MaxRoleDepth {
		return fmt.Errorf("%w: role %q: a chain of %d roles (%d above it, %d below) is deeper than %d",
			ErrInvalid, r.ID, n, above, below, MaxRoleDepth)
	}
	return nil
}

// descendantLevels returns the longest chain of stored roles below id
// (0: no children), walking level by level; it stops past MaxRoleDepth,
// which is already too deep, so a stored cycle cannot keep it going.
func descendantLevels(id string, childrenOf func(string) []string) int {
	level := map[string]bool{id: true}
	n := 0
	for n <= MaxRoleDepth {
		next := map[string]bool{}
		for p := range level {
			for _, c := range childrenOf(p) {
				next[c] = true
			}
		}
		if len(next) == 0 {
			break
		}
		level = next
		n++
	}
	return n
}
