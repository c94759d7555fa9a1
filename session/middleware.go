package session

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

type ctxKey struct{}

// FromContext returns the Session the Middleware put in ctx.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok
}

// Middleware is the authentication filter. A request is authenticated by
// an "Authorization: Bearer" token, else by the session cookie of a
// logged-in session, else by a remember-me device (which starts a new
// session); its Session is then in the request's context (FromContext).
// An anonymous session (CSRF's, for a login form) authenticates nobody:
// it is in the context on public paths only. A request with none of them on
// a path that is not public (WithPublicPaths) is answered here and never
// reaches next: browsers (a GET or HEAD accepting text/html) are sent to
// the login URL (WithLoginURL), others get 401 (or
// WithUnauthenticatedHandler). When the session's store cannot be reached
// the answer is 503 (or a new login, WithReloginOnOutage): never the
// handler.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.closed.isClosed() {
			http.Error(w, "session: closed", http.StatusServiceUnavailable)
			return
		}
		public := isPublic(m.cfg.core.patterns, r.URL.Path)
		s, out, err := m.authenticate(w, r)
		switch {
		case err == nil:
			m.core.tel.requests[out].add()
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
		case public && s != nil:
			// An anonymous session (a login form's CSRF binding) rides
			// along on public paths only: it authenticates nobody.
			m.core.tel.requests[outPublic].add()
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
		case public:
			m.core.tel.requests[outPublic].add()
			next.ServeHTTP(w, r)
		case errors.Is(err, ErrUnavailable) && !m.cfg.core.reloginOnOutage:
			m.core.tel.requests[outUnavailable].add()
			m.cfg.logger.Warn("session: refusing a request: store unavailable", "err", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		default:
			if errors.Is(err, ErrUnavailable) {
				m.core.tel.requests[outUnavailable].add()
			} else {
				m.core.tel.requests[outUnauthenticated].add()
			}
			m.unauthenticated(w, r)
		}
	})
}

// authenticate finds r's logged-in session: a bearer token, else the
// cookie, else a remember-me device. ErrNoSession when there is none, in
// which case the request's anonymous session, if it has one, is returned
// beside the error (for public paths); ErrUnavailable when a store could
// not say.
func (m *Manager) authenticate(w http.ResponseWriter, r *http.Request) (*Session, int, error) {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		s, err := m.bearerSession(r, strings.TrimSpace(h[7:]))
		return s, outBearer, err
	}
	var anonymous *Session
	if c, err := r.Cookie(m.cookieName()); err == nil {
		if id, ok := m.cookieID(c.Value); ok {
			s, err := m.load(r.Context(), id)
			switch {
			case err == nil && s.principal == nil:
				anonymous = s // logs nobody in; a device still may
			case !errors.Is(err, ErrNoSession):
				return s, outCookie, err
			}
		}
		if anonymous == nil {
			m.clearCookie(w) // dead or forged: the browser may forget it
		}
	}
	s, err := m.resumeRemembered(w, r)
	if errors.Is(err, ErrNoSession) && anonymous != nil {
		return anonymous, outUnauthenticated, err
	}
	return s, outRemembered, err
}

// unauthenticated answers a request that needs a session and has none.
func (m *Manager) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if h := m.cfg.core.unauthenticated; h != nil {
		h.ServeHTTP(w, r)
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") && m.cfg.core.loginURL != "" {
		target := m.cfg.core.loginURL
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		http.Redirect(w, r, target+sep+"next="+url.QueryEscape(localNext(r.URL.RequestURI())), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="session"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// localNext makes a request URI safe to redirect back to: a path on this
// site. "//evil.example/x" (or "/\evil.example") reads as another host
// to http.Redirect and to browsers, so its leading slashes and
// backslashes become one slash.
func localNext(uri string) string {
	if !strings.HasPrefix(uri, "/") {
		return "/"
	}
	return "/" + strings.TrimLeft(uri, "/\\")
}
