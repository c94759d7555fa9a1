package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// sessions logs a user in through a real HTTP handler, shows the
// middleware refusing a request without a session, CSRF refusing a forged
// form, a JWT pair for an API client, a lockout after bad passwords, and
// "log out everywhere" ending the cookie and the tokens alike.
func sessions(ctx context.Context) error {
	fmt.Println("\n== session: logins in Redis, CSRF, JWTs, lockout")
	rdb, done, err := redisClient()
	if err != nil {
		return err
	}
	defer done()
	hash, err := session.HashPassword("wonderland")
	if err != nil {
		return err
	}
	alice := &session.Principal{UserID: "u1", Username: "alice", Roles: []string{"admin"}}
	users := session.NewPasswordAuthenticator(func(_ context.Context, name string) ([]byte, *session.Principal, error) {
		if name != "alice" {
			return nil, nil, session.ErrInvalidCredentials
		}
		return hash, alice, nil
	})
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	m, err := session.NewManager(session.NewRedisStore(rdb), users,
		session.WithCookie("session", false), // plain HTTP here; keep Secure (the default) behind TLS
		session.WithSigningKey("2026-11", key),
		session.WithLockout(3, time.Minute),
		session.WithPublicPaths("/login"))
	if err != nil {
		return err
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, session.CSRFToken(r)) // a real form renders session.CSRFField(r)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Login(w, r, r.PostFormValue("username"), r.PostFormValue("password")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p, _ := session.PrincipalFromContext(r.Context())
		fmt.Fprintf(w, "%s (admin: %v)", p.Username, p.HasRole("admin"))
	})
	srv := httptest.NewServer(m.Middleware(m.CSRF(mux)))
	defer srv.Close()
	browser := newTourBrowser(srv.URL)

	section("a page behind the middleware: no session, no entry")
	fmt.Printf("   GET /me without logging in: %s\n", browser.get("/me"))

	section("the login form: CSRF-protected, then a new session ID")
	token := browser.get("/login")
	fmt.Printf("   POST /login without the form's token: %s\n", browser.post("/login", "", "alice", "wonderland"))
	fmt.Printf("   POST /login with it: %s; GET /me: %s\n", browser.post("/login", token, "alice", "wonderland"), browser.get("/me"))

	section("an API client gets a JWT pair; verifying it needs no round trip")
	s, err := m.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), "alice", "wonderland")
	if err != nil {
		return err
	}
	access, _, err := m.IssueToken(ctx, s)
	if err != nil {
		return err
	}
	p, err := m.VerifyToken(ctx, access)
	if err != nil {
		return err
	}
	fmt.Printf("   access token for %s, %d bytes, EdDSA, kid 2026-11\n", p.Username, len(access))

	section("log out everywhere: every session and token of the user ends")
	n, err := m.LogoutAll(ctx, "u1")
	if err != nil {
		return err
	}
	_, err = m.VerifyToken(ctx, access)
	fmt.Printf("   %d sessions ended; GET /me: %s; the access token: %v\n", n, browser.get("/me"), err)

	section("three wrong passwords lock the username out, whatever the password")
	for range 3 {
		browser.post("/login", browser.get("/login"), "alice", "guess")
	}
	_, err = m.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), "alice", "wonderland")
	var te *session.ThrottleError
	if !errors.As(err, &te) {
		return fmt.Errorf("no lockout after three failures: %v", err)
	}
	fmt.Printf("   the right password now: %v (for %s)\n", err, time.Until(te.Until).Round(time.Second))
	return nil
}

// tourBrowser is a cookie-keeping HTTP client, as a browser is.
type tourBrowser struct {
	base    string
	cookies map[string]*http.Cookie
}

func newTourBrowser(base string) *tourBrowser {
	return &tourBrowser{base: base, cookies: map[string]*http.Cookie{}}
}

func (b *tourBrowser) do(req *http.Request) string {
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	req.Header.Set("Origin", b.base)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		b.cookies[c.Name] = c
	}
	var body strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	body.Write(buf[:n])
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(body.String()))
	}
	return strings.TrimSpace(body.String())
}

func (b *tourBrowser) get(path string) string {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *tourBrowser) post(path, token, username, password string) string {
	form := url.Values{"username": {username}, "password": {password}}
	if token != "" {
		form.Set(session.CSRFFieldName, token)
	}
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if out := b.do(req); out != "" {
		return out
	}
	return "200 OK"
}
