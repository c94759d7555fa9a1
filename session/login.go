package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Login checks username and password and starts a session for the user,
// setting its cookie on w. Throttling is asked first (ErrThrottled), then
// the Authenticator (ErrInvalidCredentials), and the outcome recorded.
//
// The session always gets a new ID: a session the request came with is
// ended (its application values carried over when it was anonymous or
// the same user's), and an ID the request named that the store does not
// know is never used, so an ID an attacker planted is dead afterwards.
func (m *Manager) Login(w http.ResponseWriter, r *http.Request, username, password string) (*Session, error) {
	if m.closed.isClosed() {
		return nil, ErrClosed
	}
	ctx, span := m.core.tracer.Start(r.Context(), "session.Login", trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	s, err := m.login(ctx, w, r, username, password)
	m.core.tel.login(err)
	endSpan(span, err)
	return s, err
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
}

func (m *Manager) login(ctx context.Context, w http.ResponseWriter, r *http.Request, username, password string) (*Session, error) {
	ticket, err := m.throttleBefore(ctx, r, username)
	if err != nil {
		return nil, err
	}
	p, err := m.auth.Authenticate(ctx, username, password)
	ok := err == nil && p != nil && p.UserID != ""
	if terr := m.throttleAfter(ctx, ticket, username, ok); terr != nil {
		if !ok {
			// A failure that could not be counted must not look like a
			// plain wrong password: the lockout did not see it.
			return nil, errors.Join(ErrInvalidCredentials, terr)
		}
		m.cfg.logger.Warn("session: could not record a successful login", "err", terr)
	}
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return nil, ErrInvalidCredentials
	case err != nil:
		return nil, wrapOp("login: authenticate", err)
	case !ok:
		return nil, fmt.Errorf("%w: the authenticator returned no principal with a UserID", ErrInvalid)
	}
	return m.start(ctx, w, r, p, false)
}

// Renew gives the request's session a new ID and principal p, for a
// privilege change (a role granted, a step-up authentication): the old ID
// stops working. It returns the new Session; the one in the request's
// context is dead afterwards. ErrNoSession when the request has none.
func (m *Manager) Renew(w http.ResponseWriter, r *http.Request, p *Principal) (*Session, error) {
	if m.closed.isClosed() {
		return nil, ErrClosed
	}
	if p == nil || p.UserID == "" {
		return nil, fmt.Errorf("%w: renew needs a principal with a UserID", ErrInvalid)
	}
	ctx, span := m.core.tracer.Start(r.Context(), "session.Renew")
	defer span.End()
	s, err := m.start(ctx, w, r, p, true)
	endSpan(span, err)
	return s, err
}

// start stores a new session for p, ending the request's session if it
// has one (required with mustRenew), and sets the cookie.
func (m *Manager) start(ctx context.Context, w http.ResponseWriter, r *http.Request, p *Principal, mustRenew bool) (*Session, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: principal: %v", ErrInvalid, err)
	}
	var old *Session
	if id, ok := m.requestID(r); ok {
		old, err = m.load(ctx, id)
		switch {
		case errors.Is(err, ErrNoSession):
			old = nil // unknown or ended: never used, so nothing to kill
		case err != nil && (mustRenew || !errors.Is(err, ErrUnavailable)):
			return nil, err
		case err != nil:
			// Its store is down: the old session cannot be ended now,
			// but it is another ID, never the new session's.
			m.cfg.logger.Warn("session: login could not end the request's previous session", "err", err)
			old = nil
		}
	}
	if old == nil && mustRenew {
		return nil, ErrNoSession
	}
	values := map[string]string{principalField: string(raw)}
	if old != nil && (old.rec.UserID == "" || old.rec.UserID == p.UserID) {
		for k, v := range old.rec.Values {
			if strings.HasPrefix(k, userPrefix) {
				values[k] = v
			}
		}
	}
	// The logged-in session gets a new CSRF secret: no token rendered
	// before login (seen or planted by someone else) verifies after it.
	csrfDropSecret(values)
	id, rec, err := m.storeNew(ctx, p.UserID, values, old)
	if err != nil {
		return nil, err
	}
	m.setCookie(w, id, rec)
	return m.sessionOf(id.tier, rec)
}

// Logout ends the request's session and clears its cookie. A request
// without a session is no error; a store that cannot be reached is
// (ErrUnavailable), though the cookie is cleared all the same.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) error {
	if m.closed.isClosed() {
		return ErrClosed
	}
	ctx, span := m.core.tracer.Start(r.Context(), "session.Logout")
	defer span.End()
	m.clearCookie(w)
	id, ok := m.requestID(r)
	// The remember-me device of this browser is forgotten too, or the
	// next request would log the user straight back in. Its owner is the
	// session's user: from the context when the Middleware ran, else read.
	userID := ""
	if s, found := FromContext(r.Context()); found {
		userID = s.UserID()
	} else if ok {
		if s, err := m.load(ctx, id); err == nil {
			userID = s.UserID()
		}
	}
	derr := m.forgetCurrentDevice(w, r, userID)
	if !ok {
		endSpan(span, derr)
		return derr
	}
	err := m.tier(id.tier).do("logout", func(st Store) error { return st.DeleteSession(ctx, id.ref()) })
	if err == nil {
		m.core.tel.ended[endLogout].add()
	}
	err = errors.Join(err, derr)
	endSpan(span, err)
	return err
}

// LogoutAll ends every session of userID, in every store tier, in one
// operation per store (no scan), revokes the user's tokens and forgets
// their remember-me devices. It returns how many live sessions ended.
// Every step is tried even when one fails; the errors are joined.
func (m *Manager) LogoutAll(ctx context.Context, userID string) (int, error) {
	if m.closed.isClosed() {
		return 0, ErrClosed
	}
	if userID == "" {
		return 0, fmt.Errorf("%w: empty userID", ErrInvalid)
	}
	ctx, span := m.core.tracer.Start(ctx, "session.LogoutAll")
	defer span.End()
	total := 0
	var errs []error
	for _, ts := range m.core.tiers {
		if ts == nil {
			continue
		}
		err := ts.do("logout all", func(st Store) error {
			n, err := st.DeleteUserSessions(ctx, userID, m.now())
			total += n
			return err
		})
		errs = append(errs, err)
	}
	for range total {
		m.core.tel.ended[endLogoutAll].add()
	}
	errs = append(errs, m.revokeUserTokens(ctx, userID), m.forgetDevices(ctx, userID))
	err := errors.Join(errs...)
	endSpan(span, err)
	return total, err
}

// ListSessions returns userID's live sessions in every store tier, oldest
// first, for an account page ("where am I logged in"). The records carry
// no Values: those hold the package's secrets (the CSRF token...).
func (m *Manager) ListSessions(ctx context.Context, userID string) ([]*Record, error) {
	if m.closed.isClosed() {
		return nil, ErrClosed
	}
	var out []*Record
	var errs []error
	for _, ts := range m.core.tiers {
		if ts == nil {
			continue
		}
		errs = append(errs, ts.do("list sessions", func(st Store) error {
			recs, err := st.ListUserSessions(ctx, userID, m.now())
			for _, rec := range recs {
				rec.Values = nil
			}
			out = append(out, recs...)
			return err
		}))
	}
	sortRecords(out)
	return out, errors.Join(errs...)
}

// anonymousSession returns r's session, creating an anonymous one (and
// setting its cookie on w) when r has none: the CSRF token of a login
// form is bound to it.
func (m *Manager) anonymousSession(w http.ResponseWriter, r *http.Request) (*Session, error) {
	if m.closed.isClosed() {
		return nil, ErrClosed
	}
	if s, ok := FromContext(r.Context()); ok && s.rec != nil {
		return s, nil
	}
	ctx := r.Context()
	if id, ok := m.requestID(r); ok {
		s, err := m.load(ctx, id)
		if !errors.Is(err, ErrNoSession) {
			return s, err
		}
	}
	id, rec, err := m.storeNew(ctx, "", map[string]string{}, nil)
	if err != nil {
		return nil, err
	}
	m.setCookie(w, id, rec)
	return m.sessionOf(id.tier, rec)
}
