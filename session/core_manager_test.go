package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// users: alice/pw (admin), bob/pw.
var auth = session.AuthenticatorFunc(func(_ context.Context, u, p string) (*session.Principal, error) {
	if (u == "alice" || u == "bob") && p == "pw" {
		return &session.Principal{UserID: "id-" + u, Username: u, Roles: []string{"user"}}, nil
	}
	return nil, session.ErrInvalidCredentials
})

func newManager(t *testing.T, st session.Store, opts ...session.Option) (*session.Manager, *clock) {
	t.Helper()
	c := newClock()
	opts = append([]session.Option{c.option(), session.WithCookie("sid", false)}, opts...)
	m, err := session.NewManager(st, auth, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, c
}

// login logs user in with the given cookie (nil for none) and returns
// the new session cookie.
func login(t *testing.T, m *session.Manager, user string, with *http.Cookie) *http.Cookie {
	t.Helper()
	r := loginReq("192.0.2.1")
	if with != nil {
		r.AddCookie(with)
	}
	w, err := tryLogin(m, r, user, "pw")
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return sessionCookie(t, w)
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.MaxAge > 0 {
			return c
		}
	}
	t.Fatalf("no session cookie set: %v", w.Header()["Set-Cookie"])
	return nil
}

// whoami is a handler behind m.Middleware answering the session's user.
func whoami(m *session.Manager) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := session.FromContext(r.Context())
		if !ok {
			fmt.Fprint(w, "anonymous")
			return
		}
		fmt.Fprint(w, "user:"+s.UserID())
	}))
}

// get requests path through h with cookie c (nil for none).
func get(h http.Handler, path string, c *http.Cookie, accept string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func wantUser(t *testing.T, h http.Handler, c *http.Cookie, user string) {
	t.Helper()
	w := get(h, "/private", c, "")
	if w.Code != 200 || w.Body.String() != "user:"+user {
		t.Fatalf("GET /private = %d %q, want 200 user:%s", w.Code, w.Body, user)
	}
}

func wantDenied(t *testing.T, h http.Handler, c *http.Cookie) {
	t.Helper()
	if w := get(h, "/private", c, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("GET /private = %d %q, want 401", w.Code, w.Body)
	}
}

// stores runs f on a memory store and a Redis store.
func stores(t *testing.T, f func(t *testing.T, st session.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, session.NewMemoryStore()) })
	t.Run("redis", func(t *testing.T) { f(t, redisStore(t)) })
}

func TestCookieFlags(t *testing.T) {
	m, err := session.NewManager(session.NewMemoryStore(), auth)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := httptest.NewRecorder()
	if _, err := m.Login(w, httptest.NewRequest("POST", "/login", nil), "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	c := sessionCookie(t, w)
	if c.Name != "__Host-session" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie %+v: want __Host-session, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain", c)
	}
	if c.MaxAge != int((12 * time.Hour).Seconds()) {
		t.Fatalf("cookie Max-Age %d, want the 12h absolute timeout", c.MaxAge)
	}
}

func TestLoginFixation(t *testing.T) {
	stores(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st)
		h := whoami(m)
		// An ID the attacker made up and planted: never used.
		planted := &http.Cookie{Name: "sid", Value: "0123abcd." + strings.Repeat("A", 43)}
		c := login(t, m, "alice", planted)
		if c.Value == planted.Value {
			t.Fatal("login kept the planted ID")
		}
		wantUser(t, h, c, "id-alice")
		wantDenied(t, h, planted)

		// A valid anonymous session (the attacker got one from the site
		// and planted it): dead after the victim's login.
		anon := anonCookie(t, m)
		wantDenied(t, h, anon) // anonymous: it logs nobody in
		c2 := login(t, m, "bob", anon)
		if c2.Value == anon.Value {
			t.Fatal("login kept the anonymous ID")
		}
		wantUser(t, h, c2, "id-bob")
		wantDenied(t, h, anon)

		// A logged-in user logging in again also gets a new ID.
		c3 := login(t, m, "bob", c2)
		wantDenied(t, h, c2)
		wantUser(t, h, c3, "id-bob")
	})
}

// anonCookie makes an anonymous session, as CSRF does for a login form.
func anonCookie(t *testing.T, m *session.Manager) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	s, err := session.AnonymousSession(m, w, httptest.NewRequest("GET", "/login", nil))
	if err != nil || s.Principal() != nil {
		t.Fatalf("anonymous session: %v, %v", s, err)
	}
	return sessionCookie(t, w)
}

func TestLoginCarriesValuesOnlyForTheSameUser(t *testing.T) {
	// An anonymous visitor's cart lives on a public path.
	m, _ := newManager(t, session.NewMemoryStore(), session.WithPublicPaths("/shop"))
	ctx := context.Background()
	var got string
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		got, _ = s.Get("cart")
	}))
	set := func(c *http.Cookie, v string) {
		r := httptest.NewRequest("GET", "/shop", nil)
		r.AddCookie(c)
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := session.FromContext(r.Context())
			if err := s.Set(ctx, "cart", v); err != nil {
				t.Error(err)
			}
		})).ServeHTTP(httptest.NewRecorder(), r)
	}
	anon := anonCookie(t, m)
	set(anon, "3 apples")
	alice := login(t, m, "alice", anon)
	get(h, "/", alice, "")
	if got != "3 apples" {
		t.Fatalf("cart after login = %q, want the anonymous session's", got)
	}
	bob := login(t, m, "bob", alice) // bob logs in on alice's browser
	get(h, "/", bob, "")
	if got != "" {
		t.Fatalf("bob's session got alice's cart %q", got)
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	stores(t, func(t *testing.T, st session.Store) {
		m, clk := newManager(t, st, session.WithTimeouts(10*time.Minute, time.Hour))
		h := whoami(m)
		c := login(t, m, "alice", nil)
		for range 5 { // used every 9 minutes: kept alive
			clk.add(9 * time.Minute)
			wantUser(t, h, c, "id-alice")
		}
		clk.add(10 * time.Minute) // unused for the idle timeout
		wantDenied(t, h, c)

		c = login(t, m, "alice", nil)
		for range 6 {
			clk.add(9 * time.Minute)
			wantUser(t, h, c, "id-alice")
		}
		clk.add(6 * time.Minute) // 60m after login, however busy
		wantDenied(t, h, c)
	})
}

func TestMiddlewareAnswers(t *testing.T) {
	m, _ := newManager(t, session.NewMemoryStore(), session.WithPublicPaths("/public/**", "/", "/static/*.css"), session.WithLoginURL("/signin"))
	h := whoami(m)
	for _, p := range []string{"/", "/public", "/public/a/b", "/static/x.css"} {
		if w := get(h, p, nil, ""); w.Code != 200 || w.Body.String() != "anonymous" {
			t.Fatalf("public %s = %d %q", p, w.Code, w.Body)
		}
	}
	for _, p := range []string{"/private", "/public/../admin", "/public/%2e%2e/admin", "/static/x.js", "/static/a/x.css", "//admin"} {
		if w := get(h, p, nil, ""); w.Code != http.StatusUnauthorized {
			t.Fatalf("%s without a session = %d, want 401", p, w.Code)
		}
	}
	w := get(h, "/private?x=1", nil, "text/html,application/xhtml+xml")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin?next=%2Fprivate%3Fx%3D1" {
		t.Fatalf("browser without a session: %d %q", w.Code, w.Header().Get("Location"))
	}
	c := login(t, m, "alice", nil)
	if w := get(h, "/public/x", c, ""); w.Body.String() != "user:id-alice" {
		t.Fatalf("a public page did not get the session: %q", w.Body)
	}
	// A forged cookie is refused and cleared.
	w = get(h, "/private", &http.Cookie{Name: "sid", Value: "junk"}, "")
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("forged cookie: %d %q", w.Code, w.Header().Get("Set-Cookie"))
	}
}

func TestPublicPathPatterns(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"/public/**", "/public", true},
		{"/public/**", "/public/", true},
		{"/public/**", "/public/a/b/c", true},
		{"/public/**", "/public/../admin", false},
		{"/public/**", "/publicity", false},
		{"/u/*/avatar", "/u/7/avatar", true},
		{"/u/*/avatar", "/u/7/8/avatar", false},
		{"/login", "/login/", true},
		{"/login", "/login/x", false},
		{"/", "/", true},
		{"/", "/x", false},
		{"/**", "/anything/at/all", true},
	}
	for _, c := range cases {
		got, err := session.IsPublic([]string{c.pattern}, c.path)
		if err != nil || got != c.want {
			t.Errorf("pattern %q, path %q: %v, %v; want %v", c.pattern, c.path, got, err, c.want)
		}
	}
	for _, bad := range []string{"public", "/a/**/b", "/a/[", "/a/../b", "/a/"} {
		if _, err := session.NewManager(session.NewMemoryStore(), auth, session.WithPublicPaths(bad)); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("pattern %q accepted: %v", bad, err)
		}
	}
}

func TestOptionsValidated(t *testing.T) {
	for name, o := range map[string]session.Option{
		"timeouts":  session.WithTimeouts(time.Hour, time.Minute),
		"zero idle": session.WithTimeouts(0, time.Minute),
		"cookie":    session.WithCookie("a b", true),
		"login url": session.WithLoginURL("javascript:alert(1)"),
		"fallback":  session.WithFallbackStore(nil),
		"nil":       nil,
	} {
		if _, err := session.NewManager(session.NewMemoryStore(), auth, o); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestLoginErrors(t *testing.T) {
	m, _ := newManager(t, session.NewMemoryStore())
	w := httptest.NewRecorder()
	if _, err := m.Login(w, httptest.NewRequest("POST", "/login", nil), "alice", "bad"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("a failed login set a cookie")
	}
	m.Close()
	if _, err := m.Login(w, httptest.NewRequest("POST", "/login", nil), "alice", "pw"); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("login after Close: %v", err)
	}
}

func TestRenewOnPrivilegeChange(t *testing.T) {
	stores(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st)
		h := whoami(m)
		c := login(t, m, "alice", nil)
		r := httptest.NewRequest("POST", "/sudo", nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		s, err := m.Renew(w, r, &session.Principal{UserID: "id-alice", Roles: []string{"admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Principal().Roles[0] != "admin" {
			t.Fatalf("renewed principal %+v", s.Principal())
		}
		c2 := sessionCookie(t, w)
		wantDenied(t, h, c)
		wantUser(t, h, c2, "id-alice")
		if _, err := m.Renew(httptest.NewRecorder(), r, &session.Principal{UserID: "id-alice"}); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("renew of a dead session: %v, want ErrNoSession", err)
		}
	})
}

func TestConcurrentSetThroughSessions(t *testing.T) {
	run := func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st)
		c := login(t, m, "alice", nil)
		const n = 100
		var wg sync.WaitGroup
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := session.FromContext(r.Context())
			if err := s.Set(r.Context(), r.URL.Query().Get("k"), "v"); err != nil {
				t.Error(err)
			}
		}))
		for i := range n {
			wg.Go(func() { get(h, fmt.Sprintf("/set?k=k%d", i), c, "") })
		}
		wg.Wait()
		var vals map[string]bool
		get(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := session.FromContext(r.Context())
			vals = map[string]bool{}
			for i := range n {
				_, vals[fmt.Sprint(i)] = s.Get(fmt.Sprintf("k%d", i))
			}
		})), "/", c, "")
		for i := range n {
			if !vals[fmt.Sprint(i)] {
				t.Fatalf("k%d lost among %d concurrent requests setting one key each", i, n)
			}
		}
	}
	t.Run("redis", func(t *testing.T) { run(t, redisStore(t)) })
	t.Run("postgres", func(t *testing.T) {
		st, err := session.NewPostgresStore(newTestPostgresPool(t, sharedPostgres.Get(t)))
		if err != nil {
			t.Fatal(err)
		}
		run(t, st)
	})
}

// TestInternalFields: the package's own fields and an application's keys
// live apart, and both survive each other's writes.
func TestInternalFields(t *testing.T) {
	m, _ := newManager(t, session.NewMemoryStore())
	w := httptest.NewRecorder()
	s, err := session.AnonymousSession(m, w, httptest.NewRequest("GET", "/login", nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := session.SetInternal(s, ctx, "csrf", "tok"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "csrf", "user value"); err != nil {
		t.Fatal(err)
	}
	if v, _ := session.Internal(s, "csrf"); v != "tok" {
		t.Fatalf("internal csrf = %q after the application set its own csrf key", v)
	}
	// The same session, loaded again by the next request, has both.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(sessionCookie(t, w))
	again, err := session.AnonymousSession(m, httptest.NewRecorder(), r)
	if err != nil {
		t.Fatal(err)
	}
	iv, _ := session.Internal(again, "csrf")
	uv, _ := again.Get("csrf")
	if iv != "tok" || uv != "user value" {
		t.Fatalf("reloaded: internal %q, application %q", iv, uv)
	}
}
