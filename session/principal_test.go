package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// The privilege adapter: the Principal of a cookie or bearer request,
// none without a session, and nil-safe role and permission checks.
func TestPrincipalFromContext(t *testing.T) {
	m := newTokenManager(t, session.NewMemoryStore(), session.WithSigningKey("k", edKey(t)), session.WithCookie("sid", false))
	w, err := tryLogin(m, loginReq("192.0.2.1"), "alice", "pw")
	if err != nil {
		t.Fatal(err)
	}
	access, _ := issue(t, m, alice)
	var got *session.Principal
	var found bool
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, found = session.PrincipalFromContext(r.Context())
	}))
	for name, set := range map[string]func(r *http.Request){
		"cookie": func(r *http.Request) { r.AddCookie(sessionCookie(t, w)) },
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+access) },
	} {
		got, found = nil, false
		r := httptest.NewRequest("GET", "/", nil)
		set(r)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if !found || got.UserID != "u1" || !got.HasRole("admin") || got.HasRole("user") ||
			!got.HasPermission("users:read") || got.HasPermission("users:write") {
			t.Errorf("%s: PrincipalFromContext = %+v, %v", name, got, found)
		}
	}
	if p, ok := session.PrincipalFromContext(context.Background()); ok || p != nil {
		t.Errorf("no session: %+v, %v", p, ok)
	}
	var none *session.Principal
	if none.HasRole("admin") || none.HasPermission("users:read") {
		t.Error("a nil Principal holds a role or permission")
	}
}
