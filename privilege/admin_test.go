package privilege_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

// want checks w's status and, for JSON answers, decodes the body.
func want(t *testing.T, what string, w *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: %d %s, want %d", what, w.Code, strings.TrimSpace(w.Body.String()), status)
	}
	if w.Body.Len() == 0 || w.Header().Get("Content-Type") != "application/json" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: body %q: %v", what, w.Body, err)
	}
	return m
}

func wantField(t *testing.T, what string, m map[string]any, field string) {
	t.Helper()
	if m["field"] != field || m["error"] == "" {
		t.Fatalf("%s: answer %v, want an error on field %q", what, m, field)
	}
}

func TestAdminAPIMemory(t *testing.T) {
	runAdminAPITests(t, func(t *testing.T) privilege.Store {
		s := privilege.NewMemoryStore()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// runAdminAPITests runs every endpoint, its refusals and the guard on
// stores made by newStore.
func runAdminAPITests(t *testing.T, newStore func(*testing.T) privilege.Store) {
	const api = "/admin/privilege/api/"
	site := func(t *testing.T) *adminSite { return newAdminSite(t, newStore(t), nil) }

	t.Run("Roles", func(t *testing.T) {
		root := site(t).login(t, "root")
		m := want(t, "list", root.do("GET", api+"roles", "", nil), 200)
		if rs := m["roles"].([]any); len(rs) != 2 {
			t.Fatalf("roles %v, want the two seeded", rs)
		}
		m = want(t, "put", root.do("PUT", api+"roles/dev", `{"name":"Developer","parents":["privilege-admin"]}`, nil), 200)
		if m["id"] != "dev" || m["active"] != true {
			t.Fatalf("put answered %v, want dev, active by default", m)
		}
		m = want(t, "get", root.do("GET", api+"roles/dev", "", nil), 200)
		if m["name"] != "Developer" || len(m["parents"].([]any)) != 1 {
			t.Fatalf("get %v", m)
		}
		want(t, "get unknown", root.do("GET", api+"roles/nosuch", "", nil), 404)
		wantField(t, "unknown parent", want(t, "unknown parent", root.do("PUT", api+"roles/x", `{"parents":["nosuch"]}`, nil), 400), "parents")
		wantField(t, "unknown field", want(t, "unknown field", root.do("PUT", api+"roles/x", `{"nmae":"typo"}`, nil), 400), "nmae")
		wantField(t, "wrong type", want(t, "wrong type", root.do("PUT", api+"roles/x", `{"active":"yes"}`, nil), 400), "active")
		wantField(t, "other id", want(t, "other id", root.do("PUT", api+"roles/x", `{"id":"y"}`, nil), 400), "id")
		want(t, "put a", root.do("PUT", api+"roles/a", `{}`, nil), 200)
		want(t, "put b", root.do("PUT", api+"roles/b", `{"parents":["a"]}`, nil), 200)
		wantField(t, "cycle", want(t, "cycle", root.do("PUT", api+"roles/a", `{"parents":["b"]}`, nil), 409), "parents")
		want(t, "delete", root.do("DELETE", api+"roles/dev", "", nil), 204)
		want(t, "delete again", root.do("DELETE", api+"roles/dev", "", nil), 204) // a retry succeeds
		want(t, "get deleted", root.do("GET", api+"roles/dev", "", nil), 404)
		want(t, "method", root.do("POST", api+"roles/dev", `{}`, nil), 405)
	})

	t.Run("Permissions", func(t *testing.T) {
		root := site(t).login(t, "root")
		want(t, "role", root.do("PUT", api+"roles/dev", `{}`, nil), 200)
		want(t, "put", root.do("PUT", api+"roles/dev/permissions", `{"resource":"orders/*","action":"read"}`, nil), 200)
		m := want(t, "list", root.do("GET", api+"roles/dev/permissions", "", nil), 200)
		if ps := m["permissions"].([]any); len(ps) != 1 || ps[0].(map[string]any)["resource"] != "orders/*" {
			t.Fatalf("permissions %v", m)
		}
		want(t, "unknown role", root.do("PUT", api+"roles/nosuch/permissions", `{"resource":"a","action":"b"}`, nil), 404)
		want(t, "list unknown role", root.do("GET", api+"roles/nosuch/permissions", "", nil), 404)
		want(t, "bad pattern", root.do("PUT", api+"roles/dev/permissions", `{"resource":"or*ders","action":"read"}`, nil), 400)
		wantField(t, "missing action", want(t, "no action", root.do("DELETE", api+"roles/dev/permissions?resource=orders/*", "", nil), 400), "action")
		wantField(t, "extra param", want(t, "extra", root.do("DELETE", api+"roles/dev/permissions?resource=a&action=b&x=1", "", nil), 400), "x")
		want(t, "remove", root.do("DELETE", api+"roles/dev/permissions?resource=orders%2F*&action=read", "", nil), 204)
		if m := want(t, "list", root.do("GET", api+"roles/dev/permissions", "", nil), 200); len(m["permissions"].([]any)) != 0 {
			t.Fatalf("after remove: %v", m)
		}
	})

	t.Run("Grants", func(t *testing.T) {
		root := site(t).login(t, "root")
		want(t, "role", root.do("PUT", api+"roles/dev", `{}`, nil), 200)
		want(t, "grant", root.do("PUT", api+"users/bob/grants/dev", `{}`, nil), 200)
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
		want(t, "grant expiring", root.do("PUT", api+"users/bob/grants/privilege-admin", `{"expires":"`+exp+`"}`, nil), 200)
		m := want(t, "list", root.do("GET", api+"users/bob/grants", "", nil), 200)
		gs := m["grants"].([]any)
		if len(gs) != 2 || gs[1].(map[string]any)["expires"] != exp || gs[0].(map[string]any)["expires"] != nil {
			t.Fatalf("grants %v, want dev for good and privilege-admin until %s", gs, exp)
		}
		wantField(t, "past", want(t, "past", root.do("PUT", api+"users/bob/grants/dev", `{"expires":"2001-01-01T00:00:00Z"}`, nil), 400), "expires")
		wantField(t, "format", want(t, "format", root.do("PUT", api+"users/bob/grants/dev", `{"expires":"tomorrow"}`, nil), 400), "expires")
		want(t, "unknown role", root.do("PUT", api+"users/bob/grants/nosuch", `{}`, nil), 404)
		want(t, "revoke", root.do("DELETE", api+"users/bob/grants/dev", "", nil), 204)
		if m := want(t, "list", root.do("GET", api+"users/bob/grants", "", nil), 200); len(m["grants"].([]any)) != 1 {
			t.Fatalf("after revoke: %v", m)
		}
		if m := want(t, "nobody", root.do("GET", api+"users/nobody/grants", "", nil), 200); len(m["grants"].([]any)) != 0 {
			t.Fatalf("grants of a user with none: %v", m)
		}
	})

	t.Run("Policies", func(t *testing.T) {
		root := site(t).login(t, "root")
		m := want(t, "list empty", root.do("GET", api+"policies", "", nil), 200)
		if ps := m["policies"].([]any); len(ps) != 0 {
			t.Fatalf("policies %v", ps)
		}
		want(t, "put", root.do("PUT", api+"policies/weekend", `{"priority":10,"effect":"deny","target":{"actions":["deploy"]},"condition":"env.day in [\"Sat\", \"Sun\"]"}`, nil), 200)
		want(t, "put inactive", root.do("PUT", api+"policies/off", `{"priority":1,"effect":"permit","active":false}`, nil), 200)
		m = want(t, "list", root.do("GET", api+"policies", "", nil), 200)
		ps := m["policies"].([]any)
		if len(ps) != 2 || ps[0].(map[string]any)["id"] != "weekend" || ps[1].(map[string]any)["active"] != false {
			t.Fatalf("policies %v, want weekend then the inactive off", ps)
		}
		m = want(t, "get", root.do("GET", api+"policies/weekend", "", nil), 200)
		if m["effect"] != "deny" || m["priority"] != 10.0 {
			t.Fatalf("get %v", m)
		}
		want(t, "get unknown", root.do("GET", api+"policies/nosuch", "", nil), 404)
		m = want(t, "bad condition", root.do("PUT", api+"policies/bad", `{"effect":"permit","condition":"subject.level >\n  3 &&"}`, nil), 400)
		wantField(t, "bad condition", m, "condition")
		if m["line"] != 2.0 || m["column"] == nil {
			t.Fatalf("bad condition: %v, want line 2 and a column", m)
		}
		m = want(t, "conflict", root.do("PUT", api+"policies/allow-deploy", `{"priority":10,"effect":"permit","target":{"actions":["deploy"]}}`, nil), 409)
		if !strings.Contains(m["error"].(string), "weekend") {
			t.Fatalf("conflict: %v, want it to name the other policy", m)
		}
		wantField(t, "effect", want(t, "effect", root.do("PUT", api+"policies/p", `{"effect":"maybe"}`, nil), 400), "effect")
		wantField(t, "no effect", want(t, "no effect", root.do("PUT", api+"policies/p", `{}`, nil), 400), "effect")
		wantField(t, "other id", want(t, "other id", root.do("PUT", api+"policies/p", `{"id":"q","effect":"permit"}`, nil), 400), "id")
		want(t, "bad target", root.do("PUT", api+"policies/p", `{"effect":"permit","target":{"resources":["a*b"]}}`, nil), 400)
		want(t, "delete", root.do("DELETE", api+"policies/weekend", "", nil), 204)
		want(t, "get deleted", root.do("GET", api+"policies/weekend", "", nil), 404)
	})

	t.Run("Check", func(t *testing.T) {
		root := site(t).login(t, "root")
		want(t, "role", root.do("PUT", api+"roles/reader", `{}`, nil), 200)
		want(t, "perm", root.do("PUT", api+"roles/reader/permissions", `{"resource":"orders/*","action":"read"}`, nil), 200)
		want(t, "grant", root.do("PUT", api+"users/bob/grants/reader", `{}`, nil), 200)
		m := want(t, "check", root.do("POST", api+"check", `{"subject":"bob","resource":"orders/1","action":"read"}`, nil), 200)
		if m["allowed"] != true || m["role"] != "reader" || m["reason"] == "" {
			t.Fatalf("check %v, want allowed by reader", m)
		}
		m = want(t, "check deny", root.do("POST", api+"check", `{"subject":"bob","resource":"orders/1","action":"write"}`, nil), 200)
		if m["allowed"] != false || m["reason"] == "" {
			t.Fatalf("check %v, want a denial with a reason", m)
		}
		wantField(t, "no subject", want(t, "no subject", root.do("POST", api+"check", `{"resource":"r","action":"a"}`, nil), 400), "subject")
	})

	t.Run("Guard", func(t *testing.T) {
		s := site(t)
		viewer, mallory := s.login(t, "viewer"), s.login(t, "mallory")
		want(t, "viewer reads roles", viewer.do("GET", api+"roles", "", nil), 200)
		m := want(t, "viewer writes", viewer.do("PUT", api+"roles/x", `{}`, nil), 403)
		if !strings.Contains(m["error"].(string), "write privilege/roles/x denied") {
			t.Fatalf("viewer's refusal %v, want the resource and action named", m)
		}
		want(t, "viewer reads policies", viewer.do("GET", api+"policies", "", nil), 403)
		want(t, "mallory reads roles", mallory.do("GET", api+"roles", "", nil), 403)
		want(t, "mallory checks", mallory.do("POST", api+"check", `{"subject":"a","resource":"b","action":"c"}`, nil), 403)
		w := mallory.do("GET", "/admin/privilege/", "", nil)
		if w.Code != 403 || !strings.Contains(w.Body.String(), "denied") || strings.Contains(w.Body.String(), "csrf-token") {
			t.Fatalf("mallory's page: %d %q, want a 403 page", w.Code, w.Body)
		}
		// Not logged in: the session Middleware answers 401 before the
		// handler; mounted without it, the handler's own guard does.
		anon := &adminClient{t: t, site: s}
		want(t, "anonymous", anon.do("GET", api+"roles", "", nil), 401)
		w = httptest.NewRecorder()
		newEngine(t, privilege.NewMemoryStore()).AdminHandler().ServeHTTP(w, httptest.NewRequest("GET", "/api/roles", nil))
		want(t, "no session at all", w, 401)
	})

	t.Run("CSRF", func(t *testing.T) {
		s := site(t)
		root := s.login(t, "root")
		if root.token == "" {
			t.Fatal("the page holds no CSRF token")
		}
		w := root.do("PUT", api+"roles/x", `{}`, map[string]string{"X-CSRF-Token": ""})
		if w.Code != 403 {
			t.Fatalf("no token: %d %q, want 403", w.Code, w.Body)
		}
		w = root.do("PUT", api+"roles/x", `{}`, map[string]string{"Origin": "http://evil.example"})
		if w.Code != 403 {
			t.Fatalf("other origin: %d %q, want 403", w.Code, w.Body)
		}
		w = root.do("DELETE", api+"roles/privilege-admin", "", map[string]string{"X-CSRF-Token": ""})
		if w.Code != 403 {
			t.Fatalf("delete without a token: %d %q, want 403", w.Code, w.Body)
		}
		// Mounted without CSRF: writes are refused, reads work.
		m := want(t, "bare write", root.do("PUT", "/bare/api/roles/x", `{}`, nil), 403)
		if !strings.Contains(m["error"].(string), "CSRF") {
			t.Fatalf("bare write: %v, want the missing CSRF named", m)
		}
		want(t, "bare read", root.do("GET", "/bare/api/roles", "", nil), 200)
		// Go's cross-origin protection, even behind CSRF.
		w = root.do("PUT", api+"roles/x", `{}`, map[string]string{"Sec-Fetch-Site": "cross-site"})
		if w.Code != 403 {
			t.Fatalf("cross-site fetch: %d %q, want 403", w.Code, w.Body)
		}
		want(t, "nothing written", root.do("GET", api+"roles/x", "", nil), 404)
	})

	t.Run("Bodies", func(t *testing.T) {
		root := site(t).login(t, "root")
		want(t, "text/plain", root.do("PUT", api+"roles/x", `{}`, map[string]string{"Content-Type": "text/plain"}), 415)
		want(t, "form", root.do("PUT", api+"roles/x", `{}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415)
		want(t, "json with charset", root.do("PUT", api+"roles/x", `{}`, map[string]string{"Content-Type": "application/json; charset=utf-8"}), 200)
		want(t, "too big", root.do("PUT", api+"roles/x", `{"name":"`+strings.Repeat("a", 70<<10)+`"}`, nil), 413)
		want(t, "two values", root.do("PUT", api+"roles/x", `{} {}`, nil), 400)
		want(t, "trailing garbage", root.do("PUT", api+"roles/x", `{}x`, nil), 400)
		want(t, "empty", root.do("PUT", api+"roles/x", "", map[string]string{"Content-Type": "application/json"}), 400)
		want(t, "array", root.do("PUT", api+"roles/x", `[]`, nil), 400)
		want(t, "truncated", root.do("PUT", api+"roles/x", `{"name":`, nil), 400)
		want(t, "escaped NUL", root.do("PUT", api+"roles/x", `{"name":"a\u0000b"}`, nil), 400)
		want(t, "escaped backslash is no NUL", root.do("PUT", api+"roles/y", `{"name":"a\\u0000b"}`, nil), 200)
		want(t, "bad UTF-8", root.do("PUT", api+"roles/x", "{\"name\":\"\xff\"}", nil), 400)
		want(t, "nothing written", root.do("GET", api+"roles/x", "", nil), 200) // only the charset one
	})

	t.Run("HostileIDs", func(t *testing.T) {
		root := site(t).login(t, "root")
		// An ID is opaque: an escaped "/" or ".." is part of it, stored
		// and found again as it is, and the guard's resource is
		// privilege/roles/<that ID>.
		for _, id := range []string{"..%2F..%2Fetc", "a%2Fb", "r%C3%B4le-%E6%97%A5%E6%9C%AC", "%2E%2E%2Fx", "%F0%9F%94%91"} {
			want(t, "put "+id, root.do("PUT", api+"roles/"+id, `{}`, nil), 200)
			want(t, "get "+id, root.do("GET", api+"roles/"+id, "", nil), 200)
		}
		if m := want(t, "round trip", root.do("GET", api+"roles/r%C3%B4le-%E6%97%A5%E6%9C%AC", "", nil), 200); m["id"] != "rôle-日本" {
			t.Fatalf("unicode id came back as %v", m["id"])
		}
		// Unclean paths are ServeMux's redirects, never a write.
		for _, p := range []string{api + "roles/../policies/x", api + "roles/.", api + "roles/a/../../policies/x"} {
			if w := root.do("PUT", p, `{}`, nil); w.Code < 300 || w.Code >= 400 {
				t.Fatalf("PUT %s: %d %q, want a redirect", p, w.Code, w.Body)
			}
		}
		want(t, "no policy x", root.do("GET", api+"policies/x", "", nil), 404)
		for _, id := range []string{strings.Repeat("a", 257), "a%00b", "a%0Ab", "%7F", "%FF", "%2E%2E", "%2E"} {
			wantField(t, "bad id", want(t, "put "+id[:min(len(id), 10)], root.do("PUT", api+"roles/"+id, `{}`, nil), 400), "id")
			want(t, "grant to "+id[:min(len(id), 10)], root.do("PUT", api+"users/"+id+"/grants/privilege-admin", `{}`, nil), 400)
		}
		want(t, "256 bytes is fine", root.do("PUT", api+"roles/"+strings.Repeat("a", 256), `{}`, nil), 200)
		wantField(t, "bad parent", want(t, "bad parent", root.do("PUT", api+"roles/x", `{"parents":["a\nb"]}`, nil), 400), "parents")
		wantField(t, "bad role in grant", want(t, "bad role", root.do("PUT", api+"users/bob/grants/a%00", `{}`, nil), 400), "role")
	})
}

// TestAdminPageHeaders: the page has its CSP and the token, and its
// script and style are served by the handler.
func TestAdminPageHeaders(t *testing.T) {
	root := newAdminSite(t, privilege.NewMemoryStore(), nil).login(t, "root")
	w := root.do("GET", "/admin/privilege/", "", nil)
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") ||
		w.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(w.Body.String(), "Signed in as <span id=\"who\">root</span>") {
		t.Fatalf("page: %d %v %q", w.Code, w.Header(), w.Body)
	}
	for path, ct := range map[string]string{"admin.js": "text/javascript; charset=utf-8", "admin.css": "text/css; charset=utf-8"} {
		w := root.do("GET", "/admin/privilege/"+path, "", nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != ct || w.Body.Len() == 0 {
			t.Fatalf("%s: %d %q", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), "onclick") {
		t.Fatal("the page holds inline script, which its CSP forbids")
	}
}

// TestAdminStoreClosed: with the store gone the guard cannot decide, and
// the answer is 503, never a pass.
func TestAdminStoreClosed(t *testing.T) {
	s := privilege.NewMemoryStore()
	root := newAdminSite(t, s, nil).login(t, "root")
	must(t, s.Close())
	m := want(t, "closed", root.do("GET", "/admin/privilege/api/roles", "", nil), 503)
	if !strings.Contains(m["error"].(string), "cannot decide") {
		t.Fatalf("closed store: %v", m)
	}
}
