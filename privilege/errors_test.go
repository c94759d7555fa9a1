package privilege_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/mqaudit"
)

// errCheck is one error a bad call returned, and the sentinel it must
// still match.
type errCheck struct {
	what string
	err  error
	is   error
}

// TestErrorTextNamesPackageOnce: the errors of bad calls read
// "privilege: <what>: <why>", never "privilege: put policy: policy "x":
// privilege: bad condition: …" — whatever the store, the engine, the
// admin API or an audit sink — and errors.Is still sees the sentinel.
func TestErrorTextNamesPackageOnce(t *testing.T) {
	var checks []errCheck
	add := func(what string, is, err error) { checks = append(checks, errCheck{what, err, is}) }
	storeErrors(add, privilege.NewMemoryStore(), "memory ")
	pool := newPGPool(t, sharedPostgres.Get(t))
	pg, err := privilege.NewPostgresStore(bg, pool)
	must(t, err)
	storeErrors(add, pg, "postgres ")
	_, err = privilege.NewPostgresStore(bg, nil)
	add("NewPostgresStore(nil)", privilege.ErrInvalid, err)
	_, err = privilege.NewPostgresStore(bg, pool, nil)
	add("NewPostgresStore nil option", privilege.ErrInvalid, err)
	add("MigratePostgres(nil)", privilege.ErrInvalid, privilege.MigratePostgres(bg, nil))
	add("Watch nil func", privilege.ErrInvalid, pg.Watch(bg, nil))
	must(t, pg.Close())
	add("postgres closed", privilege.ErrClosed, pg.PutRole(bg, privilege.Role{ID: "x", Active: true}))

	_, err = privilege.NewEngine(nil)
	add("NewEngine(nil)", privilege.ErrInvalid, err)
	_, err = privilege.NewEngine(privilege.NewMemoryStore(), nil)
	add("NewEngine nil option", privilege.ErrInvalid, err)
	_, err = privilege.NewEngine(privilege.NewMemoryStore(), privilege.WithL1(-1, time.Second))
	add("NewEngine bad L1", privilege.ErrInvalid, err)
	_, err = privilege.NewEngine(privilege.NewMemoryStore(), privilege.WithAudit(nil, 0))
	add("NewEngine nil audit sink", privilege.ErrInvalid, err)
	st := privilege.NewMemoryStore()
	e := newEngine(t, st)
	_, err = e.Check(bg, privilege.Request{Resource: "r", Action: "a"})
	add("Check empty subject", privilege.ErrInvalid, err)
	_, err = e.CheckBatch(bg, []privilege.Request{{Subject: "s", Resource: "r", Action: "a"}, {Subject: "s", Action: "a"}})
	add("CheckBatch empty resource", privilege.ErrInvalid, err)
	must(t, st.Close())
	_, err = e.Check(bg, privilege.Request{Subject: "s", Resource: "r", Action: "a"})
	add("Check on a closed store", privilege.ErrClosed, err)
	must(t, e.Close())
	_, err = e.Check(bg, privilege.Request{Subject: "s", Resource: "r", Action: "a"})
	add("Check on a closed engine", privilege.ErrClosed, err)

	_, err = privilege.Routes{{Pattern: "GET /x", Action: "read"}}.Mapper()
	add("route without a resource", privilege.ErrInvalid, err)
	_, err = privilege.Routes{{Pattern: "GET /x/{id}", Resource: "x/{name}", Action: "read"}}.Mapper()
	add("route template", privilege.ErrInvalid, err)

	_, err = privilege.NewPostgresAudit(nil)
	add("NewPostgresAudit(nil)", privilege.ErrInvalid, err)
	_, err = privilege.NewPostgresAudit(pool, privilege.WithAuditQueue(0))
	add("NewPostgresAudit bad option", privilege.ErrInvalid, err)
	client, err := mq.Open(bg, "mem://privilege-errtext")
	must(t, err)
	defer client.Close()
	_, err = mqaudit.New(nil, "t")
	add("mqaudit.New(nil)", privilege.ErrInvalid, err)
	_, err = mqaudit.New(client, "t", privilege.WithAuditBatch(-1, time.Second))
	add("mqaudit.New bad option", privilege.ErrInvalid, err)
	_, err = mqaudit.New(client, "t", nil)
	add("mqaudit.New nil option", privilege.ErrInvalid, err)

	for _, ch := range checks {
		if !errors.Is(ch.err, ch.is) {
			t.Errorf("%s: %v, want %v", ch.what, ch.err, ch.is)
		}
		if ch.err != nil {
			checkOnePrivilege(t, ch.what, ch.err.Error())
		}
		t.Logf("%s: %v", ch.what, ch.err)
	}
	adminErrors(t)
}

// storeErrors adds the errors of bad writes and reads to s.
func storeErrors(add func(string, error, error), s privilege.Store, kind string) {
	_ = s.PutRole(bg, privilege.Role{ID: "a", Active: true})
	_ = s.PutRole(bg, privilege.Role{ID: "b", Parents: []string{"a"}, Active: true})
	add(kind+"put role empty ID", privilege.ErrInvalid, s.PutRole(bg, privilege.Role{Active: true}))
	add(kind+"put role cycle", privilege.ErrCycle, s.PutRole(bg, privilege.Role{ID: "a", Parents: []string{"b"}, Active: true}))
	add(kind+"put role unknown parent", privilege.ErrNotFound, s.PutRole(bg, privilege.Role{ID: "c", Parents: []string{"nope"}, Active: true}))
	add(kind+"grant empty user", privilege.ErrInvalid, s.Grant(bg, "", "a", time.Time{}))
	add(kind+"grant unknown role", privilege.ErrNotFound, s.Grant(bg, "u", "nope", time.Time{}))
	add(kind+"put permission unknown role", privilege.ErrNotFound, s.PutPermission(bg, "nope", privilege.Permission{Resource: "r", Action: "a"}))
	add(kind+"put permission bad pattern", privilege.ErrInvalid, s.PutPermission(bg, "a", privilege.Permission{Resource: "r*x", Action: "a"}))
	add(kind+"put policy bad condition", privilege.ErrBadCondition, s.PutPolicy(bg, privilege.Policy{ID: "frozen", Effect: privilege.Deny, Condition: "resource.frozen = true", Active: true}))
	add(kind+"put policy empty ID", privilege.ErrInvalid, s.PutPolicy(bg, privilege.Policy{Effect: privilege.Deny, Active: true}))
	_ = s.PutPolicy(bg, privilege.Policy{ID: "p1", Effect: privilege.Permit, Active: true})
	add(kind+"put policy conflict", privilege.ErrConflict, s.PutPolicy(bg, privilege.Policy{ID: "p2", Effect: privilege.Deny, Active: true}))
	if a, ok := s.(interface {
		RolePermissions(context.Context, string) ([]privilege.Permission, error)
	}); ok {
		_, err := a.RolePermissions(bg, "nope")
		add(kind+"role permissions unknown role", privilege.ErrNotFound, err)
	}
}

// adminErrors checks the admin API's error texts, which are the store's.
func adminErrors(t *testing.T) {
	s := newAdminSite(t, privilege.NewMemoryStore(), nil)
	root := s.login(t, "root")
	const api = "/admin/privilege/api/"
	must(t, s.store.PutRole(bg, privilege.Role{ID: "a", Active: true}))
	must(t, s.store.PutRole(bg, privilege.Role{ID: "b", Parents: []string{"a"}, Active: true}))
	for _, rq := range []struct{ what, method, path, body string }{
		{"admin put role cycle", "PUT", "roles/a", `{"id":"a","parents":["b"],"active":true}`},
		{"admin put role unknown parent", "PUT", "roles/c", `{"id":"c","parents":["nope"],"active":true}`},
		{"admin put policy bad condition", "PUT", "policies/bad", `{"effect":"permit","condition":"1 +"}`},
		{"admin put permission unknown role", "PUT", "roles/nope/permissions", `{"resource":"r","action":"a"}`},
	} {
		w := root.do(rq.method, api+rq.path, rq.body, nil)
		var body struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code < 400 {
			t.Errorf("%s: %d %q", rq.what, w.Code, w.Body)
			continue
		}
		checkOnePrivilege(t, rq.what, body.Error)
		t.Logf("%s: %s", rq.what, body.Error)
	}
}

// packageName matches the package's name in an error text: "privilege: ",
// or "privilege admin: " in the admin API's own answers.
var packageName = regexp.MustCompile(`privilege( admin)?: `)

// checkOnePrivilege fails t unless s names the package once, at its
// start.
func checkOnePrivilege(t *testing.T, what, s string) {
	t.Helper()
	if got := packageName.FindAllStringIndex(s, -1); len(got) != 1 || got[0][0] != 0 {
		t.Errorf("%s: %q names the package %d times, want once, at the start", what, s, len(got))
	}
}
