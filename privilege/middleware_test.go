package privilege_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/session"
)

// orderRoutes is the route table of the middleware tests.
var orderRoutes = privilege.Routes{
	{"GET /orders/{id}", "orders/{id}", "read"},
	{"POST /orders/{id}/items", "orders/{id}/items", "write"},
	{"GET /files/{path...}", "files/{path}", "read"},
}

func mapper(t testing.TB, rs privilege.Routes) func(*http.Request) privilege.Request {
	t.Helper()
	m, err := rs.Mapper()
	must(t, err)
	return m
}

// withSubject sets the subject a mapper leaves empty, as a test's stand-in
// for the session.
func withSubject(sub string, m func(*http.Request) privilege.Request) func(*http.Request) privilege.Request {
	return func(r *http.Request) privilege.Request {
		req := m(r)
		req.Subject = sub
		return req
	}
}

// okHandler answers 200 with the resource of the Decision it was let
// through with, and counts its calls.
type okHandler struct{ calls int }

func (h *okHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls++
	d, ok := privilege.DecisionFromContext(r.Context())
	if !ok {
		http.Error(w, "no decision in context", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("ok " + d.Role))
}

// orderStore has alice as a reader of orders/*, and a deny policy on
// orders/locked.
func orderStore(t testing.TB) *privilege.MemoryStore {
	t.Helper()
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.PutRole(bg, privilege.Role{ID: "reader", Active: true}))
	must(t, s.PutPermission(bg, "reader", privilege.Permission{Resource: "orders/*", Action: "read"}))
	must(t, s.PutPermission(bg, "reader", privilege.Permission{Resource: "files/pub/*", Action: "read"}))
	must(t, s.Grant(bg, "alice", "reader", time.Time{}))
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "lock", Priority: 10, Effect: privilege.Deny, Active: true,
		Target: privilege.Target{Resources: []string{"orders/locked"}}}))
	return s
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func denyBody(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q, want application/json", ct)
	}
	var body map[string]any
	must(t, json.Unmarshal(w.Body.Bytes(), &body))
	return body
}

func TestMiddlewareAllowAndRouteParams(t *testing.T) {
	e := newEngine(t, orderStore(t))
	var next okHandler
	h := e.Middleware(withSubject("alice", mapper(t, orderRoutes)))(&next)

	w := serve(h, "GET", "/orders/42")
	if w.Code != 200 || w.Body.String() != "ok reader" {
		t.Fatalf("GET /orders/42: %d %q, want 200 from the handler", w.Code, w.Body)
	}
	w = serve(h, "GET", "/files/pub/a/b.txt")
	if w.Code != 200 {
		t.Fatalf("GET /files/pub/a/b.txt: %d %q", w.Code, w.Body)
	}
	if next.calls != 2 {
		t.Fatalf("next called %d times, want 2", next.calls)
	}
}

func TestRoutesMapperResource(t *testing.T) {
	m := mapper(t, orderRoutes)
	for _, c := range []struct{ method, target, res, act string }{
		{"GET", "/orders/42", "orders/42", "read"},
		{"HEAD", "/orders/42", "orders/42", "read"}, // GET patterns match HEAD
		{"POST", "/orders/7/items", "orders/7/items", "write"},
		{"GET", "/files/a/b/c", "files/a/b/c", "read"},
		{"GET", "/files/a%2Fb", "files/a/b", "read"}, // a {path...} value may hold "/"
		{"DELETE", "/orders/42", "", ""},             // method not in the table
		{"GET", "/nowhere", "", ""},
		{"GET", "/orders/a%2F..%2Fb", "", ""}, // an escaped slash in one segment
		{"GET", "/orders/../files/x", "", ""}, // unclean: ServeMux would redirect
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		got := m(r)
		if got.Resource != c.res || got.Action != c.act || got.Subject != "" {
			t.Errorf("%s %s: mapped to %+v, want resource %q action %q", c.method, c.target, got, c.res, c.act)
		}
		if r.Pattern != "" {
			t.Errorf("%s %s: the mapper set the caller's request's Pattern to %q", c.method, c.target, r.Pattern)
		}
	}
}

func TestRoutesMapperBadTable(t *testing.T) {
	for name, rs := range map[string]privilege.Routes{
		"bad pattern":      {{"GET /a/{", "a", "read"}},
		"conflict":         {{"GET /a/{x}", "a", "read"}, {"GET /a/{y}", "a", "read"}},
		"unknown wildcard": {{"GET /a/{x}", "a/{y}", "read"}},
		"unclosed":         {{"GET /a/{x}", "a/{x", "read"}},
		"empty resource":   {{"GET /a", "", "read"}},
		"empty action":     {{"GET /a", "a", ""}},
	} {
		if _, err := rs.Mapper(); !errors.Is(err, privilege.ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestMiddlewareDenyJSON(t *testing.T) {
	e := newEngine(t, orderStore(t))
	var next okHandler
	h := e.Middleware(withSubject("alice", mapper(t, orderRoutes)))(&next)

	w := serve(h, "GET", "/orders/locked")
	if w.Code != http.StatusForbidden {
		t.Fatalf("policy deny: %d %q, want 403", w.Code, w.Body)
	}
	body := denyBody(t, w)
	if body["allowed"] != false || body["policy_id"] != "lock" || body["reason"] == "" {
		t.Fatalf("policy deny body %v, want allowed false, policy_id lock and a reason", body)
	}

	w = serve(h, "POST", "/orders/1/items") // alice may only read
	if body := denyBody(t, w); w.Code != http.StatusForbidden || body["reason"] == "" {
		t.Fatalf("RBAC deny: %d %v, want 403 with a reason", w.Code, body)
	}

	w = serve(h, "GET", "/nowhere")
	if body := denyBody(t, w); w.Code != http.StatusForbidden || !strings.Contains(body["reason"].(string), "no route") {
		t.Fatalf("unmatched route: %d %v, want 403 no route", w.Code, body)
	}
	if next.calls != 0 {
		t.Fatalf("next called %d times on denied requests", next.calls)
	}
}

func TestMiddlewareNoSubject(t *testing.T) {
	e := newEngine(t, orderStore(t))
	var next okHandler
	h := e.Middleware(mapper(t, orderRoutes))(&next)
	w := serve(h, "GET", "/orders/42")
	if body := denyBody(t, w); w.Code != http.StatusUnauthorized || body["error"] == nil {
		t.Fatalf("no subject: %d %v, want 401 with an error", w.Code, body)
	}
	if next.calls != 0 {
		t.Fatal("next called without a subject")
	}
}

// brokenStore is a store whose Version fails: unreachable.
type brokenStore struct{ *privilege.MemoryStore }

func (brokenStore) Version(context.Context) (uint64, error) {
	return 0, errors.New("connection refused")
}

func TestMiddlewareEngineErrorFailsClosed(t *testing.T) {
	e := newEngine(t, brokenStore{orderStore(t)})
	var next okHandler
	h := e.Middleware(withSubject("alice", mapper(t, orderRoutes)))(&next)
	w := serve(h, "GET", "/orders/42")
	if body := denyBody(t, w); w.Code != http.StatusServiceUnavailable || body["error"] == nil {
		t.Fatalf("store down: %d %v, want 503 with an error", w.Code, body)
	}

	e2 := newEngine(t, orderStore(t))
	h = e2.Middleware(withSubject("alice", mapper(t, orderRoutes)))(&next)
	must(t, e2.Close())
	if w := serve(h, "GET", "/orders/42"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("closed engine: %d %q, want 503", w.Code, w.Body)
	}
	if next.calls != 0 {
		t.Fatalf("next called %d times on an engine error", next.calls)
	}
}

func TestMiddlewareNilMapperRefuses(t *testing.T) {
	e := newEngine(t, orderStore(t))
	var next okHandler
	if w := serve(e.Middleware(nil)(&next), "GET", "/orders/42"); w.Code != http.StatusUnauthorized || next.calls != 0 {
		t.Fatalf("nil mapper: %d, next calls %d; want 401 and none", w.Code, next.calls)
	}
}

// TestMiddlewareSessionSubject logs alice in through a real
// session.Manager and sends requests with her cookie: the principal's
// UserID is the subject, and its attributes reach the conditions.
func TestMiddlewareSessionSubject(t *testing.T) {
	s := orderStore(t)
	// Bob holds no role; a policy lets in whoever the session says is in
	// the auditors role and department "finance".
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "audit", Priority: 5, Effect: privilege.Permit, Active: true,
		Target:    privilege.Target{Resources: []string{"orders/*"}, Actions: []string{"read"}},
		Condition: `"auditor" in subject.roles && subject.dept == "finance" && subject.username == "bob"`}))
	e := newEngine(t, s)

	users := session.AuthenticatorFunc(func(_ context.Context, username, _ string) (*session.Principal, error) {
		switch username {
		case "alice":
			return &session.Principal{UserID: "alice", Username: "alice"}, nil
		case "bob":
			return &session.Principal{UserID: "bob", Username: "bob", Roles: []string{"auditor"}, Attrs: map[string]string{"dept": "finance"}}, nil
		}
		return nil, session.ErrInvalidCredentials
	})
	m, err := session.NewManager(session.NewMemoryStore(), users, session.WithCookie("session", false), session.WithPublicPaths("/login"))
	must(t, err)
	t.Cleanup(func() { _ = m.Close() })

	var next okHandler
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Login(w, r, r.FormValue("username"), "pw"); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	})
	mux.Handle("/", e.Middleware(mapper(t, orderRoutes))(&next))
	h := m.Middleware(mux)

	login := func(user string) *http.Cookie {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"username": {user}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(w, r)
		if w.Code != 200 || len(w.Result().Cookies()) == 0 {
			t.Fatalf("login %s: %d %q", user, w.Code, w.Body)
		}
		return w.Result().Cookies()[0]
	}
	get := func(c *http.Cookie, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil)
		r.AddCookie(c)
		h.ServeHTTP(w, r)
		return w
	}

	alice, bob := login("alice"), login("bob")
	if w := get(alice, "/orders/42"); w.Code != 200 || w.Body.String() != "ok reader" {
		t.Fatalf("alice by session: %d %q, want 200 through her reader role", w.Code, w.Body)
	}
	if w := get(alice, "/files/secret/x"); w.Code != http.StatusForbidden {
		t.Fatalf("alice on files/secret: %d %q, want 403", w.Code, w.Body)
	}
	w := get(bob, "/orders/42")
	if w.Code != 200 {
		t.Fatalf("bob by session attributes: %d %q, want 200 through policy audit", w.Code, w.Body)
	}
	if next.calls != 2 {
		t.Fatalf("next called %d times, want 2", next.calls)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	e := newEngine(b, orderStore(b))
	h := e.Middleware(withSubject("alice", mapper(b, orderRoutes)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/orders/42", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.Code != 200 {
		b.Fatalf("status %d", w.Code)
	}
}
