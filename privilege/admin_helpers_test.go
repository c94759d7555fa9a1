package privilege_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/session"
)

// The admin tests' users: root holds privilege-admin (privilege/* read
// and write), viewer may read the page and the role list only, mallory holds nothing.
var adminUsers = map[string]*session.Principal{
	"root":    {UserID: "u-root", Username: "root"},
	"viewer":  {UserID: "u-viewer", Username: "viewer"},
	"mallory": {UserID: "u-mallory", Username: "mallory"},
	// Narrow admins, seeded by the tests that use them.
	"helpdesk": {UserID: "u-helpdesk", Username: "helpdesk"},
	"editor":   {UserID: "u-editor", Username: "editor"},
}

// seedAdmin gives the test users their roles in s.
func seedAdmin(t testing.TB, s privilege.Store) {
	t.Helper()
	must(t, s.PutRole(bg, privilege.Role{ID: "privilege-admin", Name: "Privilege admin", Active: true}))
	must(t, s.PutPermission(bg, "privilege-admin", privilege.Permission{Resource: "privilege/*", Action: "read"}))
	must(t, s.PutPermission(bg, "privilege-admin", privilege.Permission{Resource: "privilege/*", Action: "write"}))
	must(t, s.Grant(bg, "u-root", "privilege-admin", time.Time{}))
	must(t, s.PutRole(bg, privilege.Role{ID: "roles-viewer", Active: true}))
	must(t, s.PutPermission(bg, "roles-viewer", privilege.Permission{Resource: "privilege/roles", Action: "read"}))
	must(t, s.PutPermission(bg, "roles-viewer", privilege.Permission{Resource: "privilege/page", Action: "read"}))
	must(t, s.Grant(bg, "u-viewer", "roles-viewer", time.Time{}))
}

// adminSite is a site with the admin handler mounted as the package doc
// says: under /admin/privilege/, behind session's Middleware and CSRF.
// /bare/ mounts it behind the Middleware only (no CSRF), to show that
// writes are refused there.
type adminSite struct {
	h     http.Handler
	store privilege.Store
}

func newAdminSite(t testing.TB, s privilege.Store, handler func(*privilege.Engine) http.Handler) *adminSite {
	t.Helper()
	seedAdmin(t, s)
	e := newEngine(t, s)
	auth := session.AuthenticatorFunc(func(_ context.Context, username, _ string) (*session.Principal, error) {
		if p, ok := adminUsers[username]; ok {
			return p, nil
		}
		return nil, session.ErrInvalidCredentials
	})
	m, err := session.NewManager(session.NewMemoryStore(), auth, session.WithCookie("session", false), session.WithPublicPaths("/login"))
	must(t, err)
	t.Cleanup(func() { _ = m.Close() })
	if handler == nil {
		handler = (*privilege.Engine).AdminHandler
	}
	admin := handler(e)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Login(w, r, r.FormValue("username"), "pw"); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/admin/privilege/", http.StatusSeeOther)
	})
	mux.Handle("/admin/privilege/", http.StripPrefix("/admin/privilege", m.CSRF(admin)))
	mux.Handle("/bare/", http.StripPrefix("/bare", admin))
	return &adminSite{h: m.Middleware(mux), store: s}
}

// adminClient is one logged-in user of an adminSite, with the CSRF token
// the page gave it.
type adminClient struct {
	t      testing.TB
	site   *adminSite
	cookie *http.Cookie
	token  string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

func (s *adminSite) login(t testing.TB, user string) *adminClient {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"username": {user}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) == 0 {
		t.Fatalf("login %s: %d %q", user, w.Code, w.Body)
	}
	c := &adminClient{t: t, site: s, cookie: w.Result().Cookies()[0]}
	page := c.do("GET", "/admin/privilege/", "", nil)
	if m := csrfMeta.FindStringSubmatch(page.Body.String()); m != nil {
		c.token = m[1]
	}
	return c
}

// do sends a request as the browser page would: the cookie, Origin, the
// CSRF token and, with a body, Content-Type application/json; hdr
// overrides (an empty value deletes).
func (c *adminClient) do(method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	r.Header.Set("Origin", "http://example.com")
	if c.token != "" {
		r.Header.Set(session.CSRFHeaderName, c.token)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	c.site.h.ServeHTTP(w, r)
	return w
}
