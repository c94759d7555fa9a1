package main

import (
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/session"
)

//go:embed templates/*.html
var templateFiles embed.FS

// maxFailures is how many wrong passwords lock a username (or client) out.
const maxFailures = 5

// site is the web site: the session Manager in front of a few pages.
type site struct {
	http.Handler
	m     *session.Manager
	users *userDB
	pages *template.Template
}

// newSite builds the site on rdb. secure marks cookies Secure (with the
// __Host- prefix), for a site served over TLS.
func newSite(rdb redis.UniversalClient, secure bool) (*site, error) {
	users, err := newUserDB()
	if err != nil {
		return nil, err
	}
	pages, err := template.New("").Funcs(template.FuncMap{
		"csrf": session.CSRFField,
		"when": func(t time.Time) string { return t.Format("2006-01-02 15:04:05") },
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s := &site{users: users, pages: pages}
	// A refused form gets the site's own page, saying why.
	csrfRefused := session.WithCSRFFailureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusForbidden, "error.html", page{Title: "Request refused",
			Error: "This form could not be accepted (" + session.CSRFFailure(r).Error() + "). Please reload the page and try again."})
	}))
	m, err := session.NewManager(session.NewRedisStore(rdb), session.NewPasswordAuthenticator(users.lookup),
		session.WithCookie("session", secure),
		session.WithTimeouts(30*time.Minute, 12*time.Hour),
		session.WithLockout(maxFailures, time.Minute),
		// After a few failures the form asks for a challenge. A real site
		// plugs its CAPTCHA check in here; the demo's is a checkbox.
		session.WithChallenge(func(r *http.Request) bool { return r.PostFormValue("human") == "yes" }),
		session.WithRememberMe(30*24*time.Hour, users.load),
		session.WithPublicPaths("/login", "/favicon.ico"),
		session.WithLoginURL("/login"),
		csrfRefused,
	)
	if err != nil {
		return nil, err
	}
	s.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /{$}", s.dashboard)
	mux.HandleFunc("GET /profile", s.profile)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("POST /logout-everywhere", s.logoutEverywhere)
	mux.HandleFunc("GET /admin", s.admin)
	mux.HandleFunc("POST /admin/logout-everywhere", s.adminLogoutEverywhere)
	// The Middleware guards every page but /login; CSRF runs inside it, so
	// that it sees the session the Middleware found (or, on the login
	// form, makes an anonymous one to bind its token to).
	s.Handler = securityHeaders(m.Middleware(m.CSRF(mux)))
	return s, nil
}

// Close stops the Manager.
func (s *site) Close() error { return s.m.Close() }

// page is what every template gets.
type page struct {
	Title   string
	Req     *http.Request
	Who     *session.Principal
	Error   string
	Data    any
	IsAdmin bool
	// Challenge shows the login form's challenge (a CAPTCHA in a real
	// site).
	Challenge bool
}

func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if sess, ok := session.FromContext(r.Context()); ok {
		p.Who = sess.Principal()
	}
	p.Req = r
	p.IsAdmin = p.Who != nil && slices.Contains(p.Who.Roles, "admin")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.pages.ExecuteTemplate(w, name, p); err != nil {
		slog.Error("render", "page", name, "err", err)
	}
}

func (s *site) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login.html", page{Title: "Log in"})
}

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	sess, err := s.m.Login(w, r, r.PostFormValue("username"), r.PostFormValue("password"))
	var te *session.ThrottleError
	switch {
	case errors.As(err, &te) && te.Challenge:
		s.render(w, r, http.StatusTooManyRequests, "login.html", page{Title: "Log in", Challenge: true,
			Error: "Several attempts failed. Please confirm you are a person, then log in."})
		return
	case errors.As(err, &te):
		s.render(w, r, http.StatusTooManyRequests, "login.html", page{Title: "Log in", Challenge: true,
			Error: "Too many failed attempts. Try again after " + te.Until.Format("15:04:05") + "."})
		return
	case errors.Is(err, session.ErrInvalidCredentials):
		// Once a challenge was asked, keep showing it: the next attempt
		// needs it too.
		s.render(w, r, http.StatusUnauthorized, "login.html", page{Title: "Log in",
			Challenge: r.PostFormValue("human") != "", Error: "Wrong username or password."})
		return
	case err != nil:
		slog.Error("login", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "login.html", page{Title: "Log in", Error: "Logging in is not possible right now. Please try again."})
		return
	}
	if r.PostFormValue("remember") == "on" {
		if err := s.m.Remember(w, r, sess); err != nil {
			slog.Error("remember device", "err", err)
		}
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// localPath returns next when it is a path on this site, else "/": a
// login form must not become a redirect to anywhere (//evil.example and
// /\evil.example are other hosts to a browser).
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return u.RequestURI()
}

func (s *site) dashboard(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "dashboard.html", page{Title: "Dashboard"})
}

// account is one user's sessions and remembered devices.
type account struct {
	User     *user
	Sessions []*session.Record
	Devices  []session.Device
}

func (s *site) account(r *http.Request, u *user) (account, error) {
	a := account{User: u}
	var err error
	if a.Sessions, err = s.m.ListSessions(r.Context(), u.ID); err != nil {
		return a, err
	}
	a.Devices, err = s.m.Devices(r.Context(), u.ID)
	return a, err
}

func (s *site) profile(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	a, err := s.account(r, s.users.byName[sess.Principal().Username])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "profile.html", page{Title: "Profile", Data: a})
}

func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.m.Logout(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *site) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	if _, err := s.m.LogoutAll(r.Context(), sess.Principal().UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *site) admin(w http.ResponseWriter, r *http.Request) {
	if !s.isAdmin(r) {
		s.render(w, r, http.StatusForbidden, "error.html", page{Title: "Forbidden", Error: "Admins only."})
		return
	}
	var accounts []account
	for _, u := range s.users.all() {
		a, err := s.account(r, u)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		accounts = append(accounts, a)
	}
	s.render(w, r, http.StatusOK, "admin.html", page{Title: "Users", Data: accounts})
}

func (s *site) adminLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if !s.isAdmin(r) {
		s.render(w, r, http.StatusForbidden, "error.html", page{Title: "Forbidden", Error: "Admins only."})
		return
	}
	u, ok := s.users.byName[r.PostFormValue("username")]
	if !ok {
		s.render(w, r, http.StatusBadRequest, "error.html", page{Title: "No such user", Error: "No such user."})
		return
	}
	if _, err := s.m.LogoutAll(r.Context(), u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (s *site) isAdmin(r *http.Request) bool {
	sess, ok := session.FromContext(r.Context())
	return ok && sess.Principal() != nil && slices.Contains(sess.Principal().Roles, "admin")
}

func (s *site) fail(w http.ResponseWriter, r *http.Request, err error) {
	slog.Error("request", "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusInternalServerError, "error.html", page{Title: "Error", Error: "Something went wrong."})
}

// securityHeaders sets the headers every page of a login site should
// carry: no framing (clickjacking), no scripts at all, no MIME sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
