package privilege_test

import (
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

// TestAdminNoEscalation: a narrow admin cannot make itself a wider one.
// privilege/grants/* write chooses whom; which roles it may hand out (or
// take away, or link as parents) is privilege/bind/<role> write — as
// Kubernetes' "bind" verb, without which a help desk that may grant
// could grant itself privilege-admin, and a role editor could make a
// role it holds a child of privilege-admin.
func TestAdminNoEscalation(t *testing.T) {
	const api = "/admin/privilege/api/"
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	site := newAdminSite(t, s, nil)
	must(t, s.PutRole(bg, privilege.Role{ID: "support-tier1", Active: true}))
	must(t, s.PutRole(bg, privilege.Role{ID: "team-a", Active: true}))
	must(t, s.PutRole(bg, privilege.Role{ID: "helpdesk", Active: true}))
	for _, p := range []privilege.Permission{
		{Resource: "privilege/page", Action: "read"},
		{Resource: "privilege/grants/*", Action: "write"},
		{Resource: "privilege/bind/support-*", Action: "write"},
	} {
		must(t, s.PutPermission(bg, "helpdesk", p))
	}
	must(t, s.Grant(bg, "u-helpdesk", "helpdesk", time.Time{}))
	must(t, s.PutRole(bg, privilege.Role{ID: "editor", Active: true}))
	for _, p := range []privilege.Permission{
		{Resource: "privilege/page", Action: "read"},
		{Resource: "privilege/roles/team-*", Action: "write"},
	} {
		must(t, s.PutPermission(bg, "editor", p))
	}
	must(t, s.Grant(bg, "u-editor", "editor", time.Time{}))
	must(t, s.Grant(bg, "u-editor", "team-a", time.Time{}))

	hd := site.login(t, "helpdesk")
	want(t, "helpdesk grants a support role", hd.do("PUT", api+"users/bob/grants/support-tier1", `{}`, nil), 200)
	want(t, "helpdesk revokes it", hd.do("DELETE", api+"users/bob/grants/support-tier1", "", nil), 204)
	want(t, "helpdesk grants itself privilege-admin", hd.do("PUT", api+"users/u-helpdesk/grants/privilege-admin", `{}`, nil), 403)
	want(t, "helpdesk revokes root's privilege-admin", hd.do("DELETE", api+"users/u-root/grants/privilege-admin", "", nil), 403)

	ed := site.login(t, "editor")
	want(t, "editor edits a team role", ed.do("PUT", api+"roles/team-a", `{"name":"Team A"}`, nil), 200)
	want(t, "editor links its role under privilege-admin", ed.do("PUT", api+"roles/team-a", `{"parents":["privilege-admin"]}`, nil), 403)

	for _, u := range []string{"u-helpdesk", "u-editor"} {
		d := check(t, newEngine(t, s), privilege.Request{Subject: u, Resource: "privilege/policies", Action: "write"})
		if d.Allowed {
			t.Fatalf("%s became a privilege admin: %+v", u, d)
		}
	}
	gs, err := s.Grants(bg, "u-root")
	must(t, err)
	if len(gs) != 1 {
		t.Fatalf("root's grants %v, want privilege-admin still", gs)
	}
}
