package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// TestAnonymousSessionIsNotALogin: the anonymous session a login form's
// CSRF token is bound to must not open a protected page. (It did: the
// Middleware took any live session for a login, so a browser that had
// only seen the login form reached the dashboard with no principal.)
func TestAnonymousSessionIsNotALogin(t *testing.T) {
	auth := session.AuthenticatorFunc(func(context.Context, string, string) (*session.Principal, error) {
		return &session.Principal{UserID: "u1", Username: "alice"}, nil
	})
	m, err := session.NewManager(session.NewMemoryStore(), auth,
		session.WithCookie("session", false), session.WithPublicPaths("/login"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var seen *session.Session
	h := m.Middleware(m.CSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = session.FromContext(r.Context())
		_ = session.CSRFToken(r) // the login form renders its token
	})))

	// The login form: an anonymous session is made for its CSRF token.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("the login form set no cookie: no anonymous session to test with")
	}

	// A protected page with that cookie: refused, the handler never runs.
	seen = nil
	req := httptest.NewRequest("GET", "/dashboard", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || seen != nil {
		t.Fatalf("an anonymous session on a protected page: status %d, handler saw a session: %v", rec.Code, seen != nil)
	}

	// The public page still gets the anonymous session (its CSRF token
	// stays the same one).
	req = httptest.NewRequest("GET", "/login", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if seen == nil || seen.Principal() != nil {
		t.Fatalf("the login page with an anonymous session: session in context %v", seen)
	}
}
