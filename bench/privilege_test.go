package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/groundwork-go/groundwork/privilege"
)

// casbinRBAC is the model the issue compares against: RBAC with role
// links and keyMatch on the object.
const casbinRBAC = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && keyMatch(r.obj, p.obj) && r.act == p.act
`

func newCasbin(tb testing.TB) *casbin.Enforcer {
	m, err := model.NewModelFromString(casbinRBAC)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func newEngine(tb testing.TB, st privilege.Store, opts ...privilege.Option) *privilege.Engine {
	e, err := privilege.NewEngine(st, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e
}

// rbacWorld is one random RBAC setup loaded into casbin and into a
// privilege MemoryStore alike: roles in layers (each role's parents in
// the layer above, so the hierarchy is a DAG of depth ≤ layers), each
// with a few permissions on exact, "x/*" and "*" resources, and users
// granted a few roles.
type rbacWorld struct {
	users, resources, actions []string
}

func buildWorld(tb testing.TB, rng *rand.Rand, cas *casbin.Enforcer, st privilege.Store) rbacWorld {
	ctx := context.Background()
	const layers, perLayer = 5, 10
	patterns := []string{"orders/*", "orders/42", "orders/42/items/*", "invoices/*", "invoices/7", "reports", "*", "admin/*"}
	w := rbacWorld{
		resources: []string{"orders", "orders/", "orders/42", "orders/43", "orders/42/items/1", "invoices/7", "invoices/8/lines", "reports", "reports/q1", "admin/users", "other"},
		actions:   []string{"read", "write", "delete"},
	}
	role := func(layer, i int) string { return fmt.Sprintf("role-%d-%d", layer, i) }
	for layer := range layers {
		for i := range perLayer {
			id := role(layer, i)
			var parents []string
			if layer > 0 {
				for _, i := range rng.Perm(perLayer)[:rng.IntN(3)] {
					parents = append(parents, role(layer-1, i))
				}
			}
			if err := st.PutRole(ctx, privilege.Role{ID: id, Name: id, Parents: parents, Active: true}); err != nil {
				tb.Fatal(err)
			}
			for _, p := range parents {
				if _, err := cas.AddGroupingPolicy(id, p); err != nil {
					tb.Fatal(err)
				}
			}
			for range rng.IntN(4) {
				res, act := patterns[rng.IntN(len(patterns))], w.actions[rng.IntN(len(w.actions))]
				if err := st.PutPermission(ctx, id, privilege.Permission{Resource: res, Action: act}); err != nil {
					tb.Fatal(err)
				}
				if _, err := cas.AddPolicy(id, res, act); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	for u := range 200 {
		id := fmt.Sprintf("user-%d", u)
		w.users = append(w.users, id)
		for range rng.IntN(4) {
			r := role(rng.IntN(layers), rng.IntN(perLayer))
			if err := st.Grant(ctx, id, r, zeroTime); err != nil {
				tb.Fatal(err)
			}
			if _, err := cas.AddGroupingPolicy(id, r); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return w
}

// TestDifferentialCasbin: random role DAGs, grants and permissions in
// casbin and in the engine; 100,000 random checks must agree.
func TestDifferentialCasbin(t *testing.T) {
	ctx := context.Background()
	disagreements, allowed := 0, 0
	for world := range 10 {
		rng := rand.New(rand.NewPCG(uint64(world), 42))
		cas := newCasbin(t)
		st := privilege.NewMemoryStore()
		w := buildWorld(t, rng, cas, st)
		e := newEngine(t, st)
		for range 10_000 {
			req := privilege.Request{
				Subject:  w.users[rng.IntN(len(w.users))],
				Resource: w.resources[rng.IntN(len(w.resources))],
				Action:   w.actions[rng.IntN(len(w.actions))],
			}
			want, err := cas.Enforce(req.Subject, req.Resource, req.Action)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Check(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if want {
				allowed++
			}
			if got.Allowed != want {
				disagreements++
				if disagreements <= 10 {
					t.Errorf("world %d: %s %s %s: engine %v (%s), casbin %v", world, req.Subject, req.Action, req.Resource, got.Allowed, got.Reason, want)
				}
			}
		}
	}
	if disagreements > 0 {
		t.Fatalf("%d of 100,000 checks disagree with casbin", disagreements)
	}
	// Both answers must be common, or agreeing would prove little.
	if allowed < 10_000 || allowed > 90_000 {
		t.Fatalf("casbin allowed %d of 100,000 checks: the worlds test one answer only", allowed)
	}
	t.Logf("100,000 checks agree (%d allowed)", allowed)
}

var zeroTime time.Time

// BenchmarkCheck: casbin's own RBAC size benchmark (its model_b_test.go
// BenchmarkRBACModelSizes: roles with one read permission each, users
// each granted one role; 17 requests alternating allowed and denied),
// with the keyMatch matcher above, beside the same rules in the engine
// (memory store, L1 off so every check computes). Rules = roles + users.
func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	b.Run("rules=5", func(b *testing.B) { benchmarkCheckSmall(b) })
	for _, c := range []struct {
		name                    string
		roles, resources, users int
	}{
		{"rules=1100", 100, 10, 1000},
		{"rules=11000", 1000, 100, 10000},
		{"rules=110000", 10000, 1000, 100000},
	} {
		cas := loadCasbinSizes(b, c.roles, c.resources, c.users)
		st := loadStoreSizes(b, c.roles, c.resources, c.users)
		reqs := make([]privilege.Request, 17)
		for i := range reqs {
			userNum := (c.users / len(reqs)) * i
			roleNum := userNum % c.roles
			resourceNum := roleNum % c.resources
			if i%2 == 0 {
				resourceNum = (resourceNum + 1) % c.resources
			}
			reqs[i] = privilege.Request{Subject: fmt.Sprintf("user-has-a-very-long-name-%d", userNum),
				Resource: fmt.Sprintf("data-has-a-very-long-name-%d", resourceNum), Action: "read"}
		}
		e := newEngine(b, st, privilege.WithL1(0, 0))
		b.Run(c.name+"/casbin", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := reqs[i%len(reqs)]
				_, _ = cas.Enforce(r.Subject, r.Resource, r.Action)
				i++
			}
		})
		b.Run(c.name+"/groundwork", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := e.Check(ctx, reqs[i%len(reqs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// loadCasbinSizes and loadStoreSizes load casbin's size benchmark rules.
// With hierarchy, every role but the first also gets a parent (role i's
// is role (i-1)/10: a tree 5 levels deep at 10,000 roles), one more
// rule per role.
func loadCasbinSizes(b *testing.B, roles, resources, users int, hierarchy ...bool) *casbin.Enforcer {
	return fillCasbinSizes(b, newCasbin(b), roles, resources, users, hierarchy...)
}

func fillCasbinSizes(b *testing.B, cas *casbin.Enforcer, roles, resources, users int, hierarchy ...bool) *casbin.Enforcer {
	var pRules, gRules [][]string
	for i := range roles {
		pRules = append(pRules, []string{roleName(i), fmt.Sprintf("data-has-a-very-long-name-%d", i%resources), "read"})
		if len(hierarchy) > 0 && hierarchy[0] && i > 0 {
			gRules = append(gRules, []string{roleName(i), roleName((i - 1) / 10)})
		}
	}
	for i := range users {
		gRules = append(gRules, []string{fmt.Sprintf("user-has-a-very-long-name-%d", i), roleName(i % roles)})
	}
	if _, err := cas.AddPolicies(pRules); err != nil {
		b.Fatal(err)
	}
	if _, err := cas.AddGroupingPolicies(gRules); err != nil {
		b.Fatal(err)
	}
	return cas
}

func roleName(i int) string { return fmt.Sprintf("group-has-a-very-long-name-%d", i) }

func loadStoreSizes(b *testing.B, roles, resources, users int, hierarchy ...bool) *privilege.MemoryStore {
	ctx := context.Background()
	st := privilege.NewMemoryStore()
	for i := range roles {
		role, data := roleName(i), fmt.Sprintf("data-has-a-very-long-name-%d", i%resources)
		var parents []string
		if len(hierarchy) > 0 && hierarchy[0] && i > 0 {
			parents = []string{roleName((i - 1) / 10)}
		}
		must(b, st.PutRole(ctx, privilege.Role{ID: role, Name: role, Parents: parents, Active: true}))
		must(b, st.PutPermission(ctx, role, privilege.Permission{Resource: data, Action: "read"}))
	}
	for i := range users {
		must(b, st.Grant(ctx, fmt.Sprintf("user-has-a-very-long-name-%d", i), roleName(i%roles), zeroTime))
	}
	return st
}

// BenchmarkLoad: loading the rules of BenchmarkCheck, with and without a
// role hierarchy, into casbin (AddPolicies and AddGroupingPolicies, one
// batch each) and into a privilege MemoryStore (one PutRole,
// PutPermission or Grant per rule, as an application loading or
// replaying its rules does). One op loads the whole set.
func BenchmarkLoad(b *testing.B) {
	for _, c := range []struct {
		name                    string
		roles, resources, users int
		hierarchy               bool
	}{
		{"rules=11000", 1000, 100, 10000, false},
		{"rules=11000+parents", 1000, 100, 10000, true},
		{"rules=110000", 10000, 1000, 100000, false},
		{"rules=110000+parents", 10000, 1000, 100000, true},
	} {
		b.Run(c.name+"/casbin", func(b *testing.B) {
			for b.Loop() {
				loadCasbinSizes(b, c.roles, c.resources, c.users, c.hierarchy)
			}
		})
		b.Run(c.name+"/groundwork", func(b *testing.B) {
			for b.Loop() {
				loadStoreSizes(b, c.roles, c.resources, c.users, c.hierarchy)
			}
		})
	}
}

// heapAfter returns the live heap held by what load returns.
func heapAfter(load func() any) (mib float64, keep any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep = load()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20), keep
}

// BenchmarkRulesMemory: the live heap a user pays for the 110,000-rule
// set of BenchmarkCheck once loaded and ready to check: casbin's
// Enforcer, and a privilege MemoryStore with its Engine, each after one
// check (so the engine's policy index is built). Measured as the growth
// of runtime.MemStats.HeapAlloc across the load, after a GC each side;
// reported as heap-MiB (one op loads the rules once).
func BenchmarkRulesMemory(b *testing.B) {
	ctx := context.Background()
	const roles, resources, users = 10000, 1000, 100000
	sub, obj := "user-has-a-very-long-name-0", "data-has-a-very-long-name-0"
	for _, name := range []string{"casbin", "groundwork"} {
		b.Run(name, func(b *testing.B) {
			var mib float64
			for b.Loop() {
				var keep any
				mib, keep = heapAfter(func() any {
					if name == "casbin" {
						cas := loadCasbinSizes(b, roles, resources, users)
						if ok, err := cas.Enforce(sub, obj, "read"); err != nil || !ok {
							b.Fatalf("casbin: %v, %v", ok, err)
						}
						return cas
					}
					st := loadStoreSizes(b, roles, resources, users)
					e, err := privilege.NewEngine(st)
					if err != nil {
						b.Fatal(err)
					}
					if d, err := e.Check(ctx, privilege.Request{Subject: sub, Resource: obj, Action: "read"}); err != nil || !d.Allowed {
						b.Fatalf("engine: %+v, %v", d, err)
					}
					return []any{st, e}
				})
				runtime.KeepAlive(keep)
				if e, ok := keep.([]any); ok {
					_ = e[1].(*privilege.Engine).Close()
				}
			}
			b.ReportMetric(mib, "heap-MiB")
		})
	}
}

// BenchmarkCheckCached: one request repeated, answered from a cache —
// casbin's CachedEnforcer (its map of results) beside the engine's L1 —
// on the 11,000 rules of BenchmarkCheck. The engine's store is a
// MemoryStore, whose version is read on every check (an atomic load).
func BenchmarkCheckCached(b *testing.B) {
	ctx := context.Background()
	m, err := model.NewModelFromString(casbinRBAC)
	if err != nil {
		b.Fatal(err)
	}
	cas, err := casbin.NewCachedEnforcer(m)
	if err != nil {
		b.Fatal(err)
	}
	fillCasbinSizes(b, cas.Enforcer, 1000, 100, 10000)
	st := loadStoreSizes(b, 1000, 100, 10000)
	e := newEngine(b, st)
	req := privilege.Request{Subject: "user-has-a-very-long-name-0", Resource: "data-has-a-very-long-name-0", Action: "read"}
	if ok, err := cas.Enforce(req.Subject, req.Resource, req.Action); err != nil || !ok {
		b.Fatalf("casbin: %v %v", ok, err)
	}
	if d, err := e.Check(ctx, req); err != nil || !d.Allowed {
		b.Fatalf("engine: %+v %v", d, err)
	}
	b.Run("casbin-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cas.Enforce(req.Subject, req.Resource, req.Action)
		}
	})
	b.Run("groundwork-l1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchmarkCheckSmall: casbin's BenchmarkRBACModel — its
// examples/rbac_policy.csv, 5 rules (4 permissions, one role link), and
// the request alice, data2, read, allowed through the role — beside the
// same rules in the engine (L1 off).
func benchmarkCheckSmall(b *testing.B) {
	ctx := context.Background()
	cas := newCasbin(b)
	if _, err := cas.AddPolicies([][]string{{"alice", "data1", "read"}, {"bob", "data2", "write"},
		{"data2_admin", "data2", "read"}, {"data2_admin", "data2", "write"}}); err != nil {
		b.Fatal(err)
	}
	if _, err := cas.AddGroupingPolicy("alice", "data2_admin"); err != nil {
		b.Fatal(err)
	}
	st := privilege.NewMemoryStore()
	for _, r := range []string{"alice", "bob", "data2_admin"} { // casbin's subjects double as roles
		must(b, st.PutRole(ctx, privilege.Role{ID: "role-" + r, Active: true}))
	}
	must(b, st.PutPermission(ctx, "role-alice", privilege.Permission{Resource: "data1", Action: "read"}))
	must(b, st.PutPermission(ctx, "role-bob", privilege.Permission{Resource: "data2", Action: "write"}))
	must(b, st.PutPermission(ctx, "role-data2_admin", privilege.Permission{Resource: "data2", Action: "read"}))
	must(b, st.PutPermission(ctx, "role-data2_admin", privilege.Permission{Resource: "data2", Action: "write"}))
	must(b, st.Grant(ctx, "alice", "role-alice", zeroTime))
	must(b, st.Grant(ctx, "alice", "role-data2_admin", zeroTime))
	must(b, st.Grant(ctx, "bob", "role-bob", zeroTime))
	e := newEngine(b, st, privilege.WithL1(0, 0))
	req := privilege.Request{Subject: "alice", Resource: "data2", Action: "read"}
	if ok, err := cas.Enforce(req.Subject, req.Resource, req.Action); err != nil || !ok {
		b.Fatalf("casbin: %v %v", ok, err)
	}
	if d, err := e.Check(ctx, req); err != nil || !d.Allowed {
		b.Fatalf("engine: %+v %v", d, err)
	}
	b.Run("casbin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cas.Enforce(req.Subject, req.Resource, req.Action)
		}
	})
	b.Run("groundwork", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
