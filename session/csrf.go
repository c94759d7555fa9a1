package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
)

// ErrCSRF is the error behind every CSRF refusal; CSRFFailure(r) returns
// it wrapped with the reason.
var ErrCSRF = errors.New("session: CSRF check failed")

const (
	// CSRFFieldName is the form field CSRF reads the token from.
	CSRFFieldName = "csrf_token"
	// CSRFHeaderName is the request header CSRF reads the token from
	// (first), for scripts.
	CSRFHeaderName = "X-CSRF-Token"

	csrfSecretName = "csrf" // the session's internal field "_csrf"
	csrfSecretLen  = 32
)

type csrfCtxKey struct{}

// csrfState is what CSRF leaves in a request's context.
type csrfState struct {
	secret []byte // nil when the session could not be had (safe methods only)
	err    error  // the refusal, for a failure handler
}

// CSRF protects next against cross-site request forgery. On every request
// it makes sure the session (an anonymous one before login, so the login
// form is protected too) has a CSRF secret, for CSRFToken and CSRFField.
// A request with an unsafe method (anything but GET, HEAD, OPTIONS and
// TRACE) goes through only if both:
//
//   - its Origin header (or, without one, its Referer) is the request's
//     own scheme and host, or one of WithTrustedOrigins; a request with
//     neither header is refused;
//   - its token (the X-CSRF-Token header, else the csrf_token form field)
//     is one CSRFToken made for this session.
//
// Otherwise the failure handler answers (default: 403 with the reason;
// 503 when the session store is unreachable). SameSite cookies are not
// relied on. Wrap the routes browsers use; routes that authenticate only
// by bearer token need no CSRF protection and have no stored session.
func (m *Manager) CSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page may hold a per-session token: no shared cache keeps it.
		w.Header().Add("Vary", "Cookie")
		if csrfSafeMethod(r.Method) {
			secret, _ := m.csrfSecret(w, r) // no token to render is the page's problem, not a refusal
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfCtxKey{}, &csrfState{secret: secret})))
			return
		}
		secret, err := m.csrfCheck(w, r)
		if err != nil {
			r = r.WithContext(context.WithValue(r.Context(), csrfCtxKey{}, &csrfState{err: err}))
			m.cfg.csrf.failureHandler().ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfCtxKey{}, &csrfState{secret: secret})))
	})
}

// csrfCheck runs the unsafe-method checks, cheapest first, so that a
// forged request is refused before any session is made for it.
func (m *Manager) csrfCheck(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := m.cfg.csrf.checkOrigin(r, m.cfg.secure); err != nil {
		m.throttleTel().csrfOrigin.add(1)
		return nil, err
	}
	tok := r.Header.Get(CSRFHeaderName)
	if tok == "" {
		tok = r.PostFormValue(CSRFFieldName)
	}
	if tok == "" {
		m.throttleTel().csrfToken.add(1)
		return nil, fmt.Errorf("%w: no %s header or %s form field", ErrCSRF, CSRFHeaderName, CSRFFieldName)
	}
	secret, err := m.csrfSecret(w, r)
	if err != nil {
		m.throttleTel().csrfSession.add(1)
		return nil, fmt.Errorf("%w: %w", ErrCSRF, err)
	}
	if !csrfVerify(tok, secret) {
		m.throttleTel().csrfToken.add(1)
		return nil, fmt.Errorf("%w: the token does not belong to this session", ErrCSRF)
	}
	return secret, nil
}

// csrfSecret returns the session's CSRF secret, making the session
// (anonymous) and the secret when there are none. Two first requests of a
// session racing may each store a secret; the later wins and a token made
// from the earlier fails once, which a reload mends.
func (m *Manager) csrfSecret(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	s, err := m.anonymousSession(w, r)
	if err != nil {
		return nil, err
	}
	if v, ok := s.internal(csrfSecretName); ok {
		if b, err := base64.RawURLEncoding.DecodeString(v); err == nil && len(b) == csrfSecretLen {
			return b, nil
		}
	}
	secret := make([]byte, csrfSecretLen)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	if err := s.setInternal(r.Context(), csrfSecretName, base64.RawURLEncoding.EncodeToString(secret)); err != nil {
		return nil, err
	}
	return secret, nil
}

// csrfDropSecret removes the CSRF secret from a session's values. Login
// and Renew call it on the new session's values, so that the logged-in
// session gets a new secret and no token seen before login verifies after
// it (start carries only application values over today; this keeps the
// rule if that ever changes).
func csrfDropSecret(values map[string]string) { delete(values, "_"+csrfSecretName) }

func csrfSafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// CSRFToken returns a token for r's session, to send back with an unsafe
// request (form field csrf_token or header X-CSRF-Token). Each call
// returns a different string (the secret masked with a fresh random pad,
// so that compression cannot leak it, as in BREACH); all of them verify.
// It returns "" outside CSRF or when the session store could not be
// reached.
func CSRFToken(r *http.Request) string {
	st, _ := r.Context().Value(csrfCtxKey{}).(*csrfState)
	if st == nil || st.secret == nil {
		return ""
	}
	return csrfMask(st.secret)
}

// CSRFField returns a hidden form input carrying CSRFToken(r), for
// html/template: {{ csrfField .Request }} inside a <form>.
func CSRFField(r *http.Request) template.HTML {
	// The token is base64url: nothing in it needs escaping.
	return template.HTML(`<input type="hidden" name="` + CSRFFieldName + `" value="` + CSRFToken(r) + `">`) //nolint:gosec // base64url only
}

// CSRFFailure returns why CSRF refused r (wrapping ErrCSRF, or
// ErrUnavailable when the session store could not be reached), for a
// failure handler; nil if it did not.
func CSRFFailure(r *http.Request) error {
	st, _ := r.Context().Value(csrfCtxKey{}).(*csrfState)
	if st == nil {
		return nil
	}
	return st.err
}
