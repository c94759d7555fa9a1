package privilege_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/privilegetest"
)

func TestPostgresStoreContract(t *testing.T) {
	url := sharedPostgres.Get(t)
	privilegetest.RunStoreTests(t, pgStores(url))
}

func TestPostgresStoreAllowConflicts(t *testing.T) {
	url := sharedPostgres.Get(t)
	privilegetest.RunAllowConflictsTests(t, pgStores(url, privilege.AllowConflicts()))
	pool := newPGPool(t, url)
	if _, err := privilege.NewPostgresStore(context.Background(), pool, nil); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("a nil option: %v, want ErrInvalid", err)
	}
}

// TestPostgresStore runs the store's own tests on one cluster, each on a
// database of its own.
func TestPostgresStore(t *testing.T) {
	url := pgCluster(t)
	for name, test := range map[string]func(*testing.T, string){
		"EmptyDatabase":      testPGEmptyDatabase,
		"MigrateTwice":       testPGMigrateTwice,
		"MigrateConcurrent":  testPGMigrateConcurrent,
		"Roles":              testPGRoles,
		"DeleteRole":         testPGDeleteRole,
		"Grants":             testPGGrants,
		"Expiry":             testPGExpiry,
		"Expires":            testPGExpires,
		"InactiveSkipped":    testPGInactiveSkipped,
		"DAG":                testPGDAG,
		"DepthLimit":         testPGDepthLimit,
		"Permissions":        testPGPermissions,
		"Policies":           testPGPolicies,
		"VersionAndNotify":   testPGVersionAndNotify,
		"Closed":             testPGClosed,
		"CycleRaceStandIn":   testPGCycleRaceStandIn,
		"CycleRaceReal":      testPGCycleRaceReal,
		"ConflictRaceLocked": testPGConflictRace,
	} {
		t.Run(name, func(t *testing.T) { test(t, url) })
	}
}

func testPGEmptyDatabase(t *testing.T, url string) {
	ctx := context.Background()
	pool := newPGPool(t, url)
	if _, err := privilege.NewPostgresStore(ctx, nil); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("nil pool: %v, want ErrInvalid", err)
	}
	s, err := privilege.NewPostgresStore(ctx, pool)
	mustNil(t, err)
	defer s.Close()
	if v := version(t, s); v != 0 {
		t.Fatalf("version of an empty store %d, want 0", v)
	}
	var tables []string
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE tablename LIKE 'privilege_%' ORDER BY 1`)
	mustNil(t, err)
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	mustNil(t, err)
	want := "privilege_abac_policies privilege_audit privilege_role_parents privilege_role_permissions privilege_roles privilege_schema_migrations privilege_store privilege_user_roles privilege_users privilege_version"
	if got := strings.Join(tables, " "); got != want {
		t.Fatalf("tables %s\nwant %s", got, want)
	}
	roles, err := s.Roles(ctx)
	mustNil(t, err)
	pols, err := s.Policies(ctx)
	mustNil(t, err)
	if len(roles) != 0 || len(pols) != 0 {
		t.Fatalf("empty store lists %v, %v", roles, pols)
	}
}

func migrationsApplied(t *testing.T, ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) string {
	t.Helper()
	var got string
	mustNil(t, q.QueryRow(ctx, `SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM privilege_schema_migrations`).Scan(&got))
	return got
}

func testPGMigrateTwice(t *testing.T, url string) {
	ctx := context.Background()
	s, pool := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "r", Name: "R", Active: true}))
	mustNil(t, s.Migrate(ctx))
	mustNil(t, s.Migrate(ctx))
	if _, err := privilege.NewPostgresStore(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if got := migrationsApplied(t, ctx, pool); got != "1:0001_init,2:0002_audit,3:0003_store_id" {
		t.Fatalf("applied %q, want 1:0001_init,2:0002_audit,3:0003_store_id once each", got)
	}
	roles, err := s.Roles(ctx)
	mustNil(t, err)
	if len(roles) != 1 {
		t.Fatalf("roles after re-migrating: %v", roles)
	}
}

// testPGMigrateConcurrent starts three stores on an empty database at
// once while the test holds Migrate's advisory lock: all three must be
// seen waiting on it (so they take turns), then all succeed and the
// migration is applied once.
func testPGMigrateConcurrent(t *testing.T, url string) {
	ctx := context.Background()
	pool := newPGPool(t, url)
	holder, err := pool.Begin(ctx)
	mustNil(t, err)
	defer holder.Rollback(ctx)
	_, err = holder.Exec(ctx, `SELECT pg_advisory_xact_lock(x'70726976696c6567'::bigint)`)
	mustNil(t, err)

	const n = 3
	errs := make(chan error, n)
	all := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := privilege.NewPostgresStore(ctx, pool)
			errs <- err
		}()
	}
	go func() { wg.Wait(); close(all) }()
	if !waitLockWaiters(t, pool, n, all) {
		t.Fatal("the stores migrated without waiting for Migrate's advisory lock")
	}
	mustNil(t, holder.Rollback(ctx))
	<-all
	for range n {
		mustNil(t, <-errs)
	}
	if got := migrationsApplied(t, ctx, pool); got != "1:0001_init,2:0002_audit,3:0003_store_id" {
		t.Fatalf("applied %q, want 1:0001_init,2:0002_audit,3:0003_store_id once each", got)
	}
}

func testPGRoles(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "Employee", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "ops", Name: "Ops", Active: true}))
	// A parent named twice is refused (validateRole), nothing written.
	wantIs(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "Developer", Parents: []string{"ops", "employee", "ops"}, Active: true}), privilege.ErrInvalid)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "Developer", Parents: []string{"ops", "employee"}, Active: true}))
	roles, err := s.Roles(ctx)
	mustNil(t, err)
	want := []privilege.Role{
		{ID: "dev", Name: "Developer", Parents: []string{"ops", "employee"}, Active: true},
		{ID: "employee", Name: "Employee", Active: true},
		{ID: "ops", Name: "Ops", Active: true},
	}
	if !equalRoles(roles, want) {
		t.Fatalf("roles %+v\nwant %+v", roles, want)
	}
	// A Put replaces name, activity and parents.
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "Dev", Parents: []string{"employee"}}))
	roles, err = s.Roles(ctx)
	mustNil(t, err)
	if !equalRoles(roles[:1], []privilege.Role{{ID: "dev", Name: "Dev", Parents: []string{"employee"}}}) {
		t.Fatalf("replaced role %+v", roles[0])
	}
	v := version(t, s)
	wantIs(t, s.PutRole(ctx, privilege.Role{ID: "x", Name: "X", Parents: []string{"nope"}}), privilege.ErrNotFound, privilege.ErrInvalid)
	wantIs(t, s.PutRole(ctx, privilege.Role{ID: "self", Name: "S", Parents: []string{"self"}}), privilege.ErrCycle, privilege.ErrInvalid, privilege.ErrNotFound)
	wantIs(t, s.PutRole(ctx, privilege.Role{ID: "", Name: "empty"}), privilege.ErrInvalid)
	if got := version(t, s); got != v {
		t.Fatalf("refused writes moved the version %d -> %d", v, got)
	}
}

func equalRoles(a, b []privilege.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || a[i].Active != b[i].Active ||
			strings.Join(a[i].Parents, ",") != strings.Join(b[i].Parents, ",") || (a[i].Parents == nil) != (b[i].Parents == nil) {
			return false
		}
	}
	return true
}

// testPGDeleteRole: deleting a role takes its permissions, its grants
// (revoked ones too) and its child links with it; a retry succeeds and
// moves nothing.
func testPGDeleteRole(t *testing.T, url string) {
	ctx := context.Background()
	s, pool := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "E", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "ops", Name: "O", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "D", Parents: []string{"ops", "employee"}, Active: true}))
	mustNil(t, s.PutPermission(ctx, "employee", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	mustNil(t, s.Grant(ctx, "alice", "employee", time.Time{}))
	mustNil(t, s.Grant(ctx, "alice", "dev", time.Time{}))
	mustNil(t, s.Grant(ctx, "bob", "employee", time.Time{}))
	mustNil(t, s.Revoke(ctx, "bob", "employee"))

	v := version(t, s)
	mustNil(t, s.DeleteRole(ctx, "employee"))
	if got := version(t, s); got != v+1 {
		t.Fatalf("delete moved the version %d -> %d, want one bump", v, got)
	}
	if _, err := s.RolePermissions(ctx, "employee"); !errors.Is(err, privilege.ErrNotFound) {
		t.Fatalf("permissions of a deleted role: %v", err)
	}
	roles, err := s.Roles(ctx)
	mustNil(t, err)
	if !equalRoles(roles, []privilege.Role{{ID: "dev", Name: "D", Parents: []string{"ops"}, Active: true}, {ID: "ops", Name: "O", Active: true}}) {
		t.Fatalf("roles after delete %+v", roles)
	}
	if got := effective(t, s, "alice", time.Now()); got != "dev<dev ops<dev" {
		t.Fatalf("alice after delete: %q", got)
	}
	var left int
	mustNil(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM privilege_role_permissions WHERE role_id = 'employee')
  + (SELECT count(*) FROM privilege_user_roles WHERE role_id = 'employee')
  + (SELECT count(*) FROM privilege_role_parents WHERE parent_id = 'employee')`).Scan(&left))
	if left != 0 {
		t.Fatalf("%d permission, grant or parent rows outlive their role", left)
	}
	v = version(t, s)
	mustNil(t, s.DeleteRole(ctx, "employee")) // a retried delete
	mustNil(t, s.DeleteRole(ctx, "nope"))
	if version(t, s) != v {
		t.Fatal("deleting what does not exist moved the version")
	}
	// The id is free again, with nothing of the old role attached.
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "E2", Active: true}))
	ps, err := s.RolePermissions(ctx, "employee")
	mustNil(t, err)
	gs, err := s.Grants(ctx, "alice")
	mustNil(t, err)
	if len(ps) != 0 || len(gs) != 1 || gs[0].RoleID != "dev" {
		t.Fatalf("re-created role has permissions %v; alice's grants %+v", ps, gs)
	}
}

func testPGGrants(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "a", Name: "A", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "b", Name: "B", Active: true}))
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	mustNil(t, s.Grant(ctx, "u", "b", exp))
	mustNil(t, s.Grant(ctx, "u", "a", time.Time{}))
	gs, err := s.Grants(ctx, "u")
	mustNil(t, err)
	if len(gs) != 2 || gs[0] != (privilege.Grant{UserID: "u", RoleID: "a"}) || gs[1].RoleID != "b" || !gs[1].Expires.Equal(exp) {
		t.Fatalf("grants %+v", gs)
	}
	wantIs(t, s.Grant(ctx, "u", "nope", time.Time{}), privilege.ErrNotFound)
	wantIs(t, s.Grant(ctx, "", "a", time.Time{}), privilege.ErrInvalid)

	mustNil(t, s.Revoke(ctx, "u", "b"))
	v := version(t, s)
	mustNil(t, s.Revoke(ctx, "u", "b")) // a retried revoke
	mustNil(t, s.Revoke(ctx, "nobody", "b"))
	if version(t, s) != v {
		t.Fatal("revoking what is not granted moved the version")
	}
	gs, err = s.Grants(ctx, "u")
	mustNil(t, err)
	if len(gs) != 1 || gs[0].RoleID != "a" {
		t.Fatalf("grants after revoke %+v", gs)
	}
	// Granting again undoes the revoke, with the new expiry.
	mustNil(t, s.Grant(ctx, "u", "b", time.Time{}))
	gs, err = s.Grants(ctx, "u")
	mustNil(t, err)
	if len(gs) != 2 || !gs[1].Expires.IsZero() {
		t.Fatalf("grants after re-grant %+v", gs)
	}
}

func roleIDs(ers []privilege.EffectiveRole) string {
	var ids []string
	for _, e := range ers {
		ids = append(ids, e.Role.ID+"<"+e.Via)
	}
	return strings.Join(ids, " ")
}

func effective(t *testing.T, s privilege.Store, user string, now time.Time) string {
	t.Helper()
	ers, err := s.EffectiveRoles(context.Background(), user, now)
	mustNil(t, err)
	return roleIDs(ers)
}

func testPGExpiry(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "E", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "temp", Name: "T", Parents: []string{"employee"}, Active: true}))
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	mustNil(t, s.Grant(ctx, "u", "temp", at))
	v := version(t, s)
	if got := effective(t, s, "u", at.Add(-time.Microsecond)); got != "temp<temp employee<temp" {
		t.Fatalf("before expiry: %q", got)
	}
	if got := effective(t, s, "u", at); got != "" {
		t.Fatalf("at expiry: %q, want nothing", got)
	}
	if got := effective(t, s, "u", at.Add(time.Hour)); got != "" {
		t.Fatalf("after expiry: %q, want nothing", got)
	}
	if version(t, s) != v {
		t.Fatal("expiry wrote")
	}
}

// testPGExpires: a role's Expires is the earliest expiry of the grants it
// comes through, over every path (a never-expiring one does not hide an
// expiring one); zero only when none of them expires.
func testPGExpires(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "E", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "boss", Name: "B", Parents: []string{"employee"}, Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "lead", Name: "L", Parents: []string{"employee"}, Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "temp", Name: "T", Parents: []string{"lead"}, Active: true}))
	early := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	late := early.Add(24 * time.Hour)
	mustNil(t, s.Grant(ctx, "u", "boss", time.Time{}))
	mustNil(t, s.Grant(ctx, "u", "lead", late))
	mustNil(t, s.Grant(ctx, "u", "temp", early))
	ers, err := s.EffectiveRoles(ctx, "u", early.Add(-time.Hour))
	mustNil(t, err)
	want := map[string]time.Time{"boss": {}, "lead": early, "temp": early, "employee": early}
	if len(ers) != len(want) {
		t.Fatalf("effective roles %q", roleIDs(ers))
	}
	for _, e := range ers {
		if w := want[e.Role.ID]; !e.Expires.Equal(w) {
			t.Fatalf("%s Expires %v, want %v", e.Role.ID, e.Expires, w)
		}
	}
	// After the early one, through lead's grant only (and boss's).
	ers, err = s.EffectiveRoles(ctx, "u", early)
	mustNil(t, err)
	want = map[string]time.Time{"boss": {}, "lead": late, "employee": late}
	if len(ers) != len(want) {
		t.Fatalf("effective roles %q", roleIDs(ers))
	}
	for _, e := range ers {
		if w := want[e.Role.ID]; !e.Expires.Equal(w) {
			t.Fatalf("%s Expires %v, want %v", e.Role.ID, e.Expires, w)
		}
	}
}

// testPGInactiveSkipped: senior -> dev -> employee; an inactive dev is
// left out for senior's holders, employee above it still counts; a grant
// of dev itself gives nothing, employee included.
func testPGInactiveSkipped(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	now := time.Now()
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "E", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "D", Parents: []string{"employee"}, Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "senior", Name: "S", Parents: []string{"dev"}, Active: true}))
	mustNil(t, s.Grant(ctx, "sam", "senior", time.Time{}))
	mustNil(t, s.Grant(ctx, "dan", "dev", time.Time{}))
	if got := effective(t, s, "sam", now); got != "senior<senior dev<senior employee<senior" {
		t.Fatalf("all active: %q", got)
	}
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "D", Parents: []string{"employee"}, Active: false}))
	if got := effective(t, s, "sam", now); got != "senior<senior employee<senior" {
		t.Fatalf("dev inactive, senior's holder: %q", got)
	}
	if got := effective(t, s, "dan", now); got != "" {
		t.Fatalf("dev inactive, dev's holder: %q", got)
	}
	// A direct grant reaches employee at depth 0.
	mustNil(t, s.Grant(ctx, "sam", "employee", time.Time{}))
	if got := effective(t, s, "sam", now); got != "employee<employee senior<senior" {
		t.Fatalf("direct grant beside the inactive one: %q", got)
	}
}

// testPGDAG: lead has two parents that share one; each role comes once,
// with its own permissions.
func testPGDAG(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "employee", Name: "E", Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "dev", Name: "D", Parents: []string{"employee"}, Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "ops", Name: "O", Parents: []string{"employee"}, Active: true}))
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "lead", Name: "L", Parents: []string{"dev", "ops"}, Active: true}))
	mustNil(t, s.PutPermission(ctx, "employee", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	mustNil(t, s.PutPermission(ctx, "dev", privilege.Permission{Resource: "repo/*", Action: "write"}))
	mustNil(t, s.PutPermission(ctx, "ops", privilege.Permission{Resource: "prod/*", Action: "deploy"}))
	mustNil(t, s.PutPermission(ctx, "ops", privilege.Permission{Resource: "prod/*", Action: "read"}))
	mustNil(t, s.Grant(ctx, "lee", "lead", time.Time{}))
	mustNil(t, s.Grant(ctx, "lee", "dev", time.Time{}))
	ers, err := s.EffectiveRoles(ctx, "lee", time.Now())
	mustNil(t, err)
	if got := roleIDs(ers); got != "dev<dev lead<lead employee<dev ops<lead" {
		t.Fatalf("effective roles %q", got)
	}
	perms := map[string]string{}
	for _, e := range ers {
		var ps []string
		for _, p := range e.Permissions {
			ps = append(ps, p.Action+" "+p.Resource)
		}
		perms[e.Role.ID] = strings.Join(ps, ",")
	}
	if perms["ops"] != "deploy prod/*,read prod/*" || perms["employee"] != "read wiki/*" || perms["lead"] != "" {
		t.Fatalf("permissions %v", perms)
	}
	if ers[1].Role.Name != "L" || strings.Join(ers[1].Role.Parents, ",") != "dev,ops" {
		t.Fatalf("lead as returned: %+v", ers[1].Role)
	}
}

// testPGDepthLimit: a chain of MaxRoleDepth roles r0 -> ... -> r9 is
// accepted and all of it counts; a PutRole that would make it longer is
// refused (ErrInvalid). The recursive query's own cut is a backstop for
// rows written around the checks: a link and even a cycle put in by SQL
// leave the walk bounded.
func testPGDepthLimit(t *testing.T, url string) {
	ctx := context.Background()
	s, pool := newPGStore(t, url)
	for i := privilege.MaxRoleDepth - 1; i >= 0; i-- {
		r := privilege.Role{ID: "r" + strconv.Itoa(i), Name: "R", Active: true}
		if i < privilege.MaxRoleDepth-1 {
			r.Parents = []string{"r" + strconv.Itoa(i+1)}
		}
		mustNil(t, s.PutRole(ctx, r))
	}
	mustNil(t, s.Grant(ctx, "u", "r0", time.Time{}))
	ers, err := s.EffectiveRoles(ctx, "u", time.Now())
	mustNil(t, err)
	if len(ers) != privilege.MaxRoleDepth || ers[len(ers)-1].Role.ID != "r9" {
		t.Fatalf("effective roles %q, want r0..r9", roleIDs(ers))
	}
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "r10", Name: "R", Active: true}))
	v := version(t, s)
	wantIs(t, s.PutRole(ctx, privilege.Role{ID: "r9", Name: "R", Parents: []string{"r10"}, Active: true}), privilege.ErrInvalid)
	wantIs(t, s.PutRole(ctx, privilege.Role{ID: "top", Name: "R", Parents: []string{"r0"}, Active: true}), privilege.ErrInvalid)
	if version(t, s) != v {
		t.Fatal("a refused role moved the version")
	}
	// Around the checks: r9 -> r10 and r10 -> r0 (a cycle) by hand.
	_, err = pool.Exec(ctx, `INSERT INTO privilege_role_parents (role_id, parent_id, pos) VALUES ('r9', 'r10', 1), ('r10', 'r0', 1)`)
	mustNil(t, err)
	ers, err = s.EffectiveRoles(ctx, "u", time.Now())
	mustNil(t, err)
	if len(ers) != privilege.MaxRoleDepth || ers[len(ers)-1].Role.ID != "r9" {
		t.Fatalf("effective roles past the checks %q, want r0..r9", roleIDs(ers))
	}
}

func testPGPermissions(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.PutRole(ctx, privilege.Role{ID: "a", Name: "A", Active: true}))
	p1 := privilege.Permission{Resource: "orders/*", Action: "read"}
	p2 := privilege.Permission{Resource: "*", Action: "list"}
	mustNil(t, s.PutPermission(ctx, "a", p1))
	mustNil(t, s.PutPermission(ctx, "a", p2))
	v := version(t, s)
	mustNil(t, s.PutPermission(ctx, "a", p1))
	if version(t, s) != v {
		t.Fatal("putting a permission again moved the version")
	}
	ps, err := s.RolePermissions(ctx, "a")
	mustNil(t, err)
	if len(ps) != 2 || ps[0] != p2 || ps[1] != p1 {
		t.Fatalf("permissions %v", ps)
	}
	wantIs(t, s.PutPermission(ctx, "nope", p1), privilege.ErrNotFound)
	wantIs(t, s.PutPermission(ctx, "a", privilege.Permission{Resource: "x"}), privilege.ErrInvalid)
	_, err = s.RolePermissions(ctx, "nope")
	wantIs(t, err, privilege.ErrNotFound)
	mustNil(t, s.RemovePermission(ctx, "a", p1))
	mustNil(t, s.RemovePermission(ctx, "a", p1))
	ps, err = s.RolePermissions(ctx, "a")
	mustNil(t, err)
	if len(ps) != 1 || ps[0] != p2 {
		t.Fatalf("permissions after remove %v", ps)
	}
}

func testPGPolicies(t *testing.T, url string) {
	ctx := context.Background()
	s, pool := newPGStore(t, url)
	low := privilege.Policy{ID: "low", Name: "Low", Priority: 1, Effect: privilege.Permit, Active: true,
		Target:    privilege.Target{Subjects: []string{"alice"}, Resources: []string{"orders/*"}, Actions: []string{"read", "list"}},
		Condition: `resource.owner == subject.id`}
	high := privilege.Policy{ID: "high", Name: "High", Priority: 9, Effect: privilege.Deny, Active: true, Target: privilege.Target{Resources: []string{}}}
	off := privilege.Policy{ID: "off", Name: "Off", Priority: 5, Effect: privilege.Deny}
	for _, p := range []privilege.Policy{low, high, off} {
		mustNil(t, s.PutPolicy(ctx, p))
	}
	ps, err := s.Policies(ctx)
	mustNil(t, err)
	if len(ps) != 2 || ps[0].ID != "high" || ps[1].ID != "low" {
		t.Fatalf("policies %+v", ps)
	}
	if ps[0].Target.Resources == nil || ps[0].Target.Subjects != nil || ps[1].Condition != low.Condition ||
		strings.Join(ps[1].Target.Actions, ",") != "read,list" || ps[1].Effect != privilege.Permit || ps[0].Effect != privilege.Deny {
		t.Fatalf("policies did not round-trip: %+v", ps)
	}
	var effect string
	mustNil(t, pool.QueryRow(ctx, `SELECT policy->>'effect' FROM privilege_abac_policies WHERE id = 'low'`).Scan(&effect))
	if effect != "permit" {
		t.Fatalf("stored effect %q, want permit", effect)
	}
	v := version(t, s)
	wantIs(t, s.PutPolicy(ctx, privilege.Policy{ID: "bad", Name: "B", Active: true}), privilege.ErrInvalid)
	wantIs(t, s.PutPolicy(ctx, privilege.Policy{ID: "big", Name: "B", Effect: privilege.Deny, Priority: 1 << 40}), privilege.ErrInvalid)
	if version(t, s) != v {
		t.Fatal("a refused policy moved the version")
	}
	mustNil(t, s.DeletePolicy(ctx, "high"))
	v = version(t, s)
	mustNil(t, s.DeletePolicy(ctx, "high")) // a retried delete
	if version(t, s) != v {
		t.Fatal("deleting a policy that does not exist moved the version")
	}
	ps, err = s.Policies(ctx)
	mustNil(t, err)
	if len(ps) != 1 || ps[0].ID != "low" {
		t.Fatalf("policies after delete %+v", ps)
	}
}

func testPGVersionAndNotify(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, pool := newPGStore(t, url)
	conn, err := pool.Acquire(ctx)
	mustNil(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+privilege.ChangeChannel)
	mustNil(t, err)
	writes := []func() error{
		func() error { return s.PutRole(ctx, privilege.Role{ID: "a", Name: "A", Active: true}) },
		func() error { return s.PutPermission(ctx, "a", privilege.Permission{Resource: "*", Action: "*"}) },
		func() error { return s.Grant(ctx, "u", "a", time.Time{}) },
		func() error { return s.Revoke(ctx, "u", "a") },
		func() error { return s.RemovePermission(ctx, "a", privilege.Permission{Resource: "*", Action: "*"}) },
		func() error {
			return s.PutPolicy(ctx, privilege.Policy{ID: "p", Name: "P", Effect: privilege.Permit, Active: true})
		},
		func() error { return s.DeletePolicy(ctx, "p") },
		func() error { return s.DeleteRole(ctx, "a") },
	}
	for i, w := range writes {
		mustNil(t, w())
		want := uint64(i + 1)
		if v := version(t, s); v != want {
			t.Fatalf("after write %d version %d, want %d", i, v, want)
		}
		n, err := conn.Conn().WaitForNotification(ctx)
		mustNil(t, err)
		if n.Channel != privilege.ChangeChannel || n.Payload != strconv.FormatUint(want, 10) {
			t.Fatalf("notification %+v, want version %d", n, want)
		}
	}
}

func testPGClosed(t *testing.T, url string) {
	ctx := context.Background()
	s, _ := newPGStore(t, url)
	mustNil(t, s.Close())
	mustNil(t, s.Close())
	_, e1 := s.EffectiveRoles(ctx, "u", time.Now())
	_, e2 := s.Policies(ctx)
	_, e3 := s.Version(ctx)
	_, e4 := s.Roles(ctx)
	_, e5 := s.Grants(ctx, "u")
	_, e6 := s.RolePermissions(ctx, "a")
	for i, err := range []error{
		s.PutRole(ctx, privilege.Role{ID: "a"}), s.DeleteRole(ctx, "a"), s.Grant(ctx, "u", "a", time.Time{}),
		s.Revoke(ctx, "u", "a"), s.PutPermission(ctx, "a", privilege.Permission{Resource: "r", Action: "a"}),
		s.RemovePermission(ctx, "a", privilege.Permission{}), s.PutPolicy(ctx, privilege.Policy{ID: "p"}),
		s.DeletePolicy(ctx, "p"), s.Migrate(ctx), e1, e2, e3, e4, e5, e6,
	} {
		if !errors.Is(err, privilege.ErrClosed) {
			t.Errorf("call %d after Close: %v, want ErrClosed", i, err)
		}
	}
}
