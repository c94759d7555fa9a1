// Package privilegetest checks that a privilege.Store keeps the contract
// the Engine relies on. Every store of this module runs it against a real
// server; a third-party store can run it too.
package privilegetest

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

// RunStoreTests runs the Store contract on stores newStore makes (each
// empty; the suite closes them).
func RunStoreTests(t *testing.T, newStore func(t *testing.T) privilege.Store) {
	run := func(name string, f func(t *testing.T, ctx context.Context, s privilege.Store)) {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			f(t, context.Background(), s)
		})
	}
	run("Roles", testRoles)
	run("Cycles", testCycles)
	run("Depth", testDepth)
	run("DeleteRole", testDeleteRole)
	run("Grants", testGrants)
	run("EffectiveRoles", testEffectiveRoles)
	run("Expiry", testExpiry)
	run("InactiveRoles", testInactiveRoles)
	run("Permissions", testPermissions)
	run("Policies", testPolicies)
	run("Conflicts", testConflicts)
	run("Version", testVersion)
	run("Closed", testClosed)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func role(id string, parents ...string) privilege.Role {
	return privilege.Role{ID: id, Name: id, Parents: parents, Active: true}
}

func testRoles(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("employee")))
	must(t, s.PutRole(ctx, role("developer", "employee")))
	wantErr(t, s.PutRole(ctx, role("x", "nope")), privilege.ErrNotFound)
	wantErr(t, s.PutRole(ctx, role("")), privilege.ErrInvalid)
	r := role("developer", "employee")
	r.Name = "Developer"
	must(t, s.PutRole(ctx, r)) // replace
	roles, err := s.Roles(ctx)
	must(t, err)
	if len(roles) != 2 || roles[0].ID != "developer" || roles[0].Name != "Developer" ||
		!slices.Equal(roles[0].Parents, []string{"employee"}) || !roles[0].Active || roles[1].ID != "employee" {
		t.Fatalf("Roles = %+v", roles)
	}
}

func testCycles(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("a")))
	must(t, s.PutRole(ctx, role("b", "a")))
	must(t, s.PutRole(ctx, role("c", "b")))
	wantErr(t, s.PutRole(ctx, role("a", "c")), privilege.ErrCycle)
	wantErr(t, s.PutRole(ctx, role("a", "a")), privilege.ErrCycle)
	// A DAG with a diamond is fine.
	must(t, s.PutRole(ctx, role("d", "b", "a")))
	// Cycles through a role's second parent, or a descendant's: p and q
	// above m, n below m.
	must(t, s.PutRole(ctx, role("p")))
	must(t, s.PutRole(ctx, role("q")))
	must(t, s.PutRole(ctx, role("m", "p", "q")))
	must(t, s.PutRole(ctx, role("n", "m")))
	wantErr(t, s.PutRole(ctx, role("q", "n")), privilege.ErrCycle)
	wantErr(t, s.PutRole(ctx, role("p", "a", "n")), privilege.ErrCycle)
	wantErr(t, s.PutRole(ctx, role("m", "p", "m")), privilege.ErrCycle)
	// m re-parented away from q: q may now go below n.
	must(t, s.PutRole(ctx, role("m", "p")))
	must(t, s.PutRole(ctx, role("q", "n")))
	wantErr(t, s.PutRole(ctx, role("p", "q")), privilege.ErrCycle)
	roles, err := s.Roles(ctx)
	must(t, err)
	for _, r := range roles {
		if r.ID == "a" && len(r.Parents) != 0 {
			t.Fatalf("rejected write changed a: %+v", r)
		}
	}
}

// testDepth: a chain of MaxRoleDepth roles is accepted; a write that
// would make a longer one is refused, whether it adds a role below the
// chain or a parent on top of it.
func testDepth(t *testing.T, ctx context.Context, s privilege.Store) {
	name := func(i int) string { return "r" + strconv.Itoa(i) }
	must(t, s.PutRole(ctx, role(name(0))))
	for i := 1; i < privilege.MaxRoleDepth; i++ {
		must(t, s.PutRole(ctx, role(name(i), name(i-1))))
	}
	wantErr(t, s.PutRole(ctx, role("below", name(privilege.MaxRoleDepth-1))), privilege.ErrInvalid)
	must(t, s.PutRole(ctx, role("top")))
	wantErr(t, s.PutRole(ctx, role(name(0), "top")), privilege.ErrInvalid)
	must(t, s.PutRole(ctx, role(name(1), "top"))) // replaces r0: still 10
	must(t, s.Grant(ctx, "ann", name(privilege.MaxRoleDepth-1), time.Time{}))
	eff, err := s.EffectiveRoles(ctx, "ann", time.Now())
	must(t, err)
	if len(eff) != privilege.MaxRoleDepth {
		t.Fatalf("a chain of %d gives %v", privilege.MaxRoleDepth, ids(eff))
	}
	// r0 has no child any more: it may go below a chain of 9.
	chain := func(i int) string { return "s" + strconv.Itoa(i) }
	must(t, s.PutRole(ctx, role(chain(0))))
	for i := 1; i < privilege.MaxRoleDepth-1; i++ {
		must(t, s.PutRole(ctx, role(chain(i), chain(i-1))))
	}
	must(t, s.PutRole(ctx, role(name(0), chain(privilege.MaxRoleDepth-2))))
	must(t, s.PutRole(ctx, role(name(0)))) // and back on its own
	// The chain top, r1..r9 split by deleting r5: top has 4 levels below
	// it, so 5 roles may go above it, not 6.
	must(t, s.DeleteRole(ctx, name(5)))
	wantErr(t, s.PutRole(ctx, role("top", chain(5))), privilege.ErrInvalid)
	must(t, s.PutRole(ctx, role("top", chain(4))))
	must(t, s.PutRole(ctx, role("top")))
	must(t, s.PutRole(ctx, role(name(6), name(4)))) // rejoined
}

func testDeleteRole(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("employee")))
	must(t, s.PutRole(ctx, role("developer", "employee")))
	must(t, s.PutPermission(ctx, "employee", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	must(t, s.Grant(ctx, "ann", "developer", time.Time{}))
	must(t, s.Grant(ctx, "bob", "employee", time.Time{}))
	must(t, s.DeleteRole(ctx, "employee"))
	must(t, s.DeleteRole(ctx, "employee")) // a retried delete succeeds
	roles, err := s.Roles(ctx)
	must(t, err)
	if len(roles) != 1 || roles[0].ID != "developer" || len(roles[0].Parents) != 0 {
		t.Fatalf("after delete, Roles = %+v", roles)
	}
	eff, err := s.EffectiveRoles(ctx, "ann", time.Now())
	must(t, err)
	if len(eff) != 1 || eff[0].Role.ID != "developer" {
		t.Fatalf("ann's roles after delete = %+v", eff)
	}
	g, err := s.Grants(ctx, "bob")
	must(t, err)
	if len(g) != 0 {
		t.Fatalf("bob's grants after delete = %+v", g)
	}
	// Roles put after the delete (a store may reuse what the deleted one
	// held), the deleted one again among them, come with no grants.
	must(t, s.PutRole(ctx, role("intern")))
	must(t, s.PutRole(ctx, role("employee")))
	for _, user := range []string{"ann", "bob"} {
		eff, err := s.EffectiveRoles(ctx, user, time.Now())
		must(t, err)
		g, err := s.Grants(ctx, user)
		must(t, err)
		if user == "ann" && (len(eff) != 1 || len(g) != 1) || user == "bob" && (len(eff) != 0 || len(g) != 0) {
			t.Fatalf("%s after roles were put again: effective %v, grants %+v", user, ids(eff), g)
		}
	}
}

func testGrants(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("r1")))
	must(t, s.PutRole(ctx, role("r2")))
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.Grant(ctx, "ann", "r2", exp))
	must(t, s.Grant(ctx, "ann", "r1", time.Time{}))
	wantErr(t, s.Grant(ctx, "ann", "nope", time.Time{}), privilege.ErrNotFound)
	wantErr(t, s.Grant(ctx, "", "r1", time.Time{}), privilege.ErrInvalid)
	g, err := s.Grants(ctx, "ann")
	must(t, err)
	if len(g) != 2 || g[0].RoleID != "r1" || !g[0].Expires.IsZero() || g[1].RoleID != "r2" || !g[1].Expires.Equal(exp) || g[0].UserID != "ann" {
		t.Fatalf("Grants = %+v", g)
	}
	must(t, s.Grant(ctx, "ann", "r2", time.Time{})) // re-grant replaces the expiry
	must(t, s.Revoke(ctx, "ann", "r1"))
	must(t, s.Revoke(ctx, "ann", "r1")) // a retried revoke succeeds
	g, err = s.Grants(ctx, "ann")
	must(t, err)
	if len(g) != 1 || g[0].RoleID != "r2" || !g[0].Expires.IsZero() {
		t.Fatalf("Grants after revoke = %+v", g)
	}
}

func ids(eff []privilege.EffectiveRole) []string {
	var out []string
	for _, e := range eff {
		out = append(out, e.Role.ID)
	}
	sort.Strings(out)
	return out
}

func testEffectiveRoles(t *testing.T, ctx context.Context, s privilege.Store) {
	// senior → developer → employee, senior → mentor → employee (a diamond),
	// and an unrelated role.
	must(t, s.PutRole(ctx, role("employee")))
	must(t, s.PutRole(ctx, role("developer", "employee")))
	must(t, s.PutRole(ctx, role("mentor", "employee")))
	must(t, s.PutRole(ctx, role("senior", "developer", "mentor")))
	must(t, s.PutRole(ctx, role("other")))
	p := privilege.Permission{Resource: "code/*", Action: "push"}
	must(t, s.PutPermission(ctx, "developer", p))
	must(t, s.Grant(ctx, "ann", "senior", time.Time{}))
	eff, err := s.EffectiveRoles(ctx, "ann", time.Now())
	must(t, err)
	if got := ids(eff); !slices.Equal(got, []string{"developer", "employee", "mentor", "senior"}) {
		t.Fatalf("effective roles = %v (each once, ancestors included)", got)
	}
	for _, e := range eff {
		if e.Via != "senior" {
			t.Fatalf("%s via %q, want senior", e.Role.ID, e.Via)
		}
		if e.Role.ID == "developer" && !slices.Equal(e.Permissions, []privilege.Permission{p}) {
			t.Fatalf("developer's permissions = %v", e.Permissions)
		}
		if !e.Expires.IsZero() {
			t.Fatalf("%s Expires = %v for a grant that never expires", e.Role.ID, e.Expires)
		}
	}
	eff, err = s.EffectiveRoles(ctx, "nobody", time.Now())
	must(t, err)
	if len(eff) != 0 {
		t.Fatalf("a user with no grants has roles %v", ids(eff))
	}
}

func testExpiry(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("employee")))
	must(t, s.PutRole(ctx, role("temp", "employee")))
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, s.Grant(ctx, "ann", "temp", exp))
	eff, err := s.EffectiveRoles(ctx, "ann", exp.Add(-time.Second))
	must(t, err)
	if got := ids(eff); !slices.Equal(got, []string{"employee", "temp"}) {
		t.Fatalf("before expiry: %v", got)
	}
	for _, e := range eff {
		if e.Expires.IsZero() || e.Expires.After(exp) {
			t.Fatalf("%s Expires = %v, want no later than %v", e.Role.ID, e.Expires, exp)
		}
	}
	for _, at := range []time.Time{exp, exp.Add(time.Hour)} {
		eff, err = s.EffectiveRoles(ctx, "ann", at)
		must(t, err)
		if len(eff) != 0 {
			t.Fatalf("at %v (expiry %v): %v", at, exp, ids(eff))
		}
	}
}

func testInactiveRoles(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("employee")))
	dev := role("developer", "employee")
	dev.Active = false
	must(t, s.PutRole(ctx, dev))
	must(t, s.PutRole(ctx, role("senior", "developer")))
	must(t, s.Grant(ctx, "ann", "senior", time.Time{}))
	must(t, s.Grant(ctx, "bob", "developer", time.Time{}))
	eff, err := s.EffectiveRoles(ctx, "ann", time.Now())
	must(t, err)
	// An inactive ancestor is left out; the active roles above it stay.
	if got := ids(eff); !slices.Equal(got, []string{"employee", "senior"}) {
		t.Fatalf("ann: %v", got)
	}
	// A grant of an inactive role counts for nothing, ancestors included.
	eff, err = s.EffectiveRoles(ctx, "bob", time.Now())
	must(t, err)
	if len(eff) != 0 {
		t.Fatalf("bob: %v", ids(eff))
	}
}

func testPermissions(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("r")))
	a := privilege.Permission{Resource: "orders/*", Action: "read"}
	b := privilege.Permission{Resource: "*", Action: "*"}
	must(t, s.PutPermission(ctx, "r", a))
	must(t, s.PutPermission(ctx, "r", b))
	must(t, s.PutPermission(ctx, "r", a)) // twice keeps one
	wantErr(t, s.PutPermission(ctx, "nope", a), privilege.ErrNotFound)
	wantErr(t, s.PutPermission(ctx, "r", privilege.Permission{Resource: "", Action: "read"}), privilege.ErrInvalid)
	wantErr(t, s.PutPermission(ctx, "r", privilege.Permission{Resource: "a/*/b", Action: "read"}), privilege.ErrInvalid)
	ps, err := s.RolePermissions(ctx, "r")
	must(t, err)
	if !slices.Equal(ps, []privilege.Permission{b, a}) {
		t.Fatalf("RolePermissions = %v", ps)
	}
	must(t, s.RemovePermission(ctx, "r", b))
	must(t, s.RemovePermission(ctx, "r", b))
	ps, err = s.RolePermissions(ctx, "r")
	must(t, err)
	if !slices.Equal(ps, []privilege.Permission{a}) {
		t.Fatalf("after remove: %v", ps)
	}
	_, err = s.RolePermissions(ctx, "nope")
	wantErr(t, err, privilege.ErrNotFound)
}

func policy(id string, prio int, eff privilege.Effect, resources ...string) privilege.Policy {
	return privilege.Policy{ID: id, Name: id, Priority: prio, Effect: eff, Active: true, Target: privilege.Target{Resources: resources}}
}

func testPolicies(t *testing.T, ctx context.Context, s privilege.Store) {
	p1 := policy("p1", 1, privilege.Permit, "a/*")
	p1.Condition = `subject.dept == "eng" && action == "read"`
	p1.Target.Subjects = []string{"ann", "team/*"}
	p1.Target.Actions = []string{"read"}
	must(t, s.PutPolicy(ctx, p1))
	must(t, s.PutPolicy(ctx, policy("p5", 5, privilege.Deny, "b")))
	must(t, s.PutPolicy(ctx, policy("p3", 3, privilege.Permit)))
	off := policy("off", 9, privilege.Deny)
	off.Active = false
	must(t, s.PutPolicy(ctx, off))
	bad := policy("bad", 1, privilege.Permit)
	bad.Condition = "subject.x =="
	err := s.PutPolicy(ctx, bad)
	wantErr(t, err, privilege.ErrBadCondition)
	wantErr(t, s.PutPolicy(ctx, policy("", 1, privilege.Permit)), privilege.ErrInvalid)
	wantErr(t, s.PutPolicy(ctx, policy("e", 1, privilege.Effect(7))), privilege.ErrInvalid)
	ps, err := s.Policies(ctx)
	must(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.ID)
	}
	if !slices.Equal(got, []string{"p5", "p3", "p1"}) {
		t.Fatalf("Policies = %v, want active ones by priority, highest first", got)
	}
	q := ps[2]
	if q.Condition != p1.Condition || q.Name != "p1" || q.Effect != privilege.Permit || !q.Active ||
		!slices.Equal(q.Target.Subjects, p1.Target.Subjects) || !slices.Equal(q.Target.Resources, p1.Target.Resources) ||
		!slices.Equal(q.Target.Actions, p1.Target.Actions) {
		t.Fatalf("stored %+v, read back %+v", p1, q)
	}
	must(t, s.DeletePolicy(ctx, "p5"))
	must(t, s.DeletePolicy(ctx, "p5"))
	ps, err = s.Policies(ctx)
	must(t, err)
	if len(ps) != 2 {
		t.Fatalf("after delete: %v", ps)
	}
}

func testConflicts(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutPolicy(ctx, policy("allow-orders", 10, privilege.Permit, "orders/*")))
	wantErr(t, s.PutPolicy(ctx, policy("deny-one", 10, privilege.Deny, "orders/7")), privilege.ErrConflict)
	// Other priority, disjoint target, same effect, inactive: no conflict.
	must(t, s.PutPolicy(ctx, policy("deny-hi", 11, privilege.Deny, "orders/7")))
	must(t, s.PutPolicy(ctx, policy("deny-other", 10, privilege.Deny, "invoices/*")))
	must(t, s.PutPolicy(ctx, policy("permit-too", 10, privilege.Permit, "customers/*")))
	wantErr(t, s.PutPolicy(ctx, policy("deny-all", 10, privilege.Deny)), privilege.ErrConflict) // no target = any
	off := policy("deny-off", 10, privilege.Deny, "orders/7")
	off.Active = false
	must(t, s.PutPolicy(ctx, off))
	// Replacing a policy does not conflict with its own old version.
	must(t, s.PutPolicy(ctx, policy("allow-orders", 10, privilege.Deny, "orders/*")))
}

func testVersion(t *testing.T, ctx context.Context, s privilege.Store) {
	v0, err := s.Version(ctx)
	must(t, err)
	writes := []func() error{
		func() error { return s.PutRole(ctx, role("r")) },
		func() error { return s.Grant(ctx, "u", "r", time.Time{}) },
		func() error { return s.PutPermission(ctx, "r", privilege.Permission{Resource: "*", Action: "*"}) },
		func() error { return s.PutPolicy(ctx, policy("p", 1, privilege.Permit)) },
		func() error { return s.DeletePolicy(ctx, "p") },
		func() error { return s.RemovePermission(ctx, "r", privilege.Permission{Resource: "*", Action: "*"}) },
		func() error { return s.Revoke(ctx, "u", "r") },
		func() error { return s.DeleteRole(ctx, "r") },
	}
	prev := v0
	for i, w := range writes {
		must(t, w())
		v, err := s.Version(ctx)
		must(t, err)
		if v <= prev {
			t.Fatalf("write %d: version %d, was %d: every write must raise it", i, v, prev)
		}
		prev = v
	}
}

func testClosed(t *testing.T, ctx context.Context, s privilege.Store) {
	must(t, s.PutRole(ctx, role("r")))
	must(t, s.Close())
	must(t, s.Close()) // idempotent
	wantErr(t, s.PutRole(ctx, role("x")), privilege.ErrClosed)
	wantErr(t, s.Grant(ctx, "u", "r", time.Time{}), privilege.ErrClosed)
	_, err := s.EffectiveRoles(ctx, "u", time.Now())
	wantErr(t, err, privilege.ErrClosed)
	_, err = s.Policies(ctx)
	wantErr(t, err, privilege.ErrClosed)
	_, err = s.Version(ctx)
	wantErr(t, err, privilege.ErrClosed)
	_, err = s.Roles(ctx)
	wantErr(t, err, privilege.ErrClosed)
}

// RunAllowConflictsTests checks a store made with privilege.AllowConflicts
// (newStore makes each, empty; the suite closes them): a same-priority
// permit/deny pair on overlapping targets is stored, every other check of
// PutPolicy still refuses what it should, and an Engine resolves the pair
// by its combining algorithm.
func RunAllowConflictsTests(t *testing.T, newStore func(t *testing.T) privilege.Store) {
	ctx := context.Background()
	s := newStore(t)
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.PutPolicy(ctx, policy("allow-orders", 10, privilege.Permit, "orders/*")))
	must(t, s.PutPolicy(ctx, policy("deny-one", 10, privilege.Deny, "orders/7")))
	must(t, s.PutPolicy(ctx, policy("deny-all", 10, privilege.Deny))) // no target = any
	ps, err := s.Policies(ctx)
	must(t, err)
	if len(ps) != 3 {
		t.Fatalf("Policies = %+v, want the three conflicting ones", ps)
	}
	must(t, s.DeletePolicy(ctx, "deny-all"))
	bad := policy("bad", 10, privilege.Deny, "orders/7")
	bad.Condition = "subject.level >"
	wantErr(t, s.PutPolicy(ctx, bad), privilege.ErrBadCondition)
	wantErr(t, s.PutPolicy(ctx, policy("", 10, privilege.Deny)), privilege.ErrInvalid)
	wantErr(t, s.PutPolicy(ctx, policy("star", 10, privilege.Deny, "a/*/b")), privilege.ErrInvalid)

	for _, c := range []struct {
		combining privilege.Combining
		allowed   bool
		policyID  string
	}{
		{privilege.DenyOverrides, false, "deny-one"},
		{privilege.PermitOverrides, true, "allow-orders"},
	} {
		e, err := privilege.NewEngine(s, privilege.WithCombining(c.combining))
		must(t, err)
		d, err := e.Check(ctx, privilege.Request{Subject: "ann", Resource: "orders/7", Action: "read"})
		must(t, err)
		if d.Allowed != c.allowed || d.PolicyID != c.policyID {
			t.Errorf("combining %v: %+v, want allowed %v by %q", c.combining, d, c.allowed, c.policyID)
		}
		// Outside the deny's target only the permit applies.
		d, err = e.Check(ctx, privilege.Request{Subject: "ann", Resource: "orders/8", Action: "read"})
		must(t, err)
		if !d.Allowed || d.PolicyID != "allow-orders" {
			t.Errorf("combining %v, orders/8: %+v, want allowed by allow-orders", c.combining, d)
		}
		must(t, e.Close())
	}
}
