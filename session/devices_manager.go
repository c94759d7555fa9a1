package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Remember gives the browser of r a remember-me device for s's user: a
// persistent cookie "<selector>.<validator>" (HttpOnly, SameSite=Lax,
// Path=/, Secure as WithCookie says) with which Middleware starts a new
// session once s is gone. Call it after a successful Login when the user
// asked to be remembered. A device cookie r already carries for the same
// user is replaced, so logging in again does not pile up devices.
func (m *Manager) Remember(w http.ResponseWriter, r *http.Request, s *Session) error {
	if m.closed.isClosed() {
		return ErrClosed
	}
	if m.cfg.remember.load == nil {
		return fmt.Errorf("%w: Remember: remember-me is off (WithRememberMe)", ErrInvalid)
	}
	if s == nil || s.principal == nil || s.principal.UserID == "" {
		return fmt.Errorf("%w: Remember: the session has no logged-in user", ErrInvalid)
	}
	userID := s.principal.UserID
	if err := validateDeviceUser(userID); err != nil {
		return err
	}
	ctx := r.Context()
	if sel, _, ok := m.rememberCookie(r); ok {
		if err := m.devicesDo("remember", func(st Store) error { return st.DeleteDevice(ctx, userID, sel) }); err != nil {
			return wrapOp("remember: forget the previous device", err)
		}
	}
	now := m.now()
	sel, val := newDeviceSecret(userID)
	d := &DeviceRecord{
		Device: Device{Selector: sel, UserID: userID, Label: deviceLabel(r.UserAgent()),
			Created: now, LastUsed: now, Expires: now.Add(m.cfg.remember.lifetime)},
		Hash: hashValidator(val),
	}
	if err := m.devicesDo("remember", func(st Store) error { return st.SaveDevice(ctx, d) }); err != nil {
		return wrapOp("remember", err)
	}
	m.setRememberCookie(w, rememberCookieValue(sel, val))
	m.devices.issued.inc()
	return nil
}

// resumeRemembered starts a new session from r's remember-me cookie, if it
// holds a live device token, and rotates the device's validator (a new
// cookie on w). ErrNoSession when r has no usable device cookie; other
// errors are the store's (for the breaker) or load's.
func (m *Manager) resumeRemembered(w http.ResponseWriter, r *http.Request) (*Session, error) {
	if m.cfg.remember.load == nil {
		return nil, ErrNoSession
	}
	c, err := r.Cookie(m.rememberCookieName())
	if err != nil {
		return nil, ErrNoSession
	}
	sel, val, ok := parseRememberCookie(c.Value)
	if !ok {
		m.devices.malformed.inc()
		m.clearRememberCookie(w)
		return nil, ErrNoSession
	}
	ctx, now := r.Context(), m.now()
	var d *DeviceRecord
	err = m.devicesDo("remember-me", func(st Store) (err error) { d, err = st.GetDevice(ctx, sel, now); return err })
	if errors.Is(err, ErrNoSession) {
		m.devices.unknown.inc()
		m.clearRememberCookie(w)
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	h := hashValidator(val)
	// Both comparisons always run, in constant time, so the answer's
	// timing says nothing about which hash (if any) was close.
	cur := subtle.ConstantTimeCompare([]byte(h), []byte(d.Hash)) == 1
	prev := subtle.ConstantTimeCompare([]byte(h), []byte(d.PrevHash)) == 1 && now.Before(d.PrevUntil)
	if !cur && !prev {
		return nil, m.deviceTheft(ctx, w, d)
	}
	p, err := m.cfg.remember.load(ctx, d.UserID)
	if err == nil && (p == nil || p.UserID != d.UserID) {
		err = fmt.Errorf("returned a principal for another user")
	}
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			_ = m.devicesDo("remember-me", func(st Store) error { return st.DeleteDevice(ctx, d.UserID, sel) })
			m.clearRememberCookie(w)
			return nil, ErrNoSession
		}
		return nil, wrapOp(fmt.Sprintf("remember-me: load user %q", d.UserID), err)
	}
	if cur {
		// Rotate before the session exists: a crash between the two
		// leaves a rotated device and a cookie the browser never got,
		// which costs this user a login, never a second use of a token.
		newVal := newValidator()
		err := m.devicesDo("remember-me", func(st Store) error {
			return st.RotateDevice(ctx, d.UserID, sel, d.Hash, hashValidator(newVal), now, now.Add(rememberGrace), now.Add(m.cfg.remember.lifetime))
		})
		switch {
		case err == nil:
			m.setRememberCookie(w, rememberCookieValue(sel, newVal))
			m.devices.resumed.inc()
		case errors.Is(err, ErrDeviceChanged):
			// A concurrent request (another tab) rotated first: ours is
			// now the previous validator, inside its grace. The browser
			// keeps the cookie the other response set.
			m.devices.grace.inc()
		case errors.Is(err, ErrNoSession):
			m.devices.unknown.inc()
			m.clearRememberCookie(w)
			return nil, ErrNoSession
		default:
			return nil, wrapOp("remember-me", err)
		}
	} else {
		m.devices.grace.inc()
	}
	return m.start(ctx, w, r, p, false)
}

// deviceTheft answers a live selector presented with a wrong validator:
// the cookie was copied and one copy has been used (and rotated) since,
// so whoever holds the other is not to be trusted, and neither copy is
// told apart from the other. Every device of the user is revoked.
func (m *Manager) deviceTheft(ctx context.Context, w http.ResponseWriter, d *DeviceRecord) error {
	m.devices.theft.inc()
	m.clearRememberCookie(w)
	var n int
	err := m.devicesDo("remember-me", func(st Store) (err error) { n, err = st.DeleteUserDevices(ctx, d.UserID); return err })
	m.devicesLogger().WarnContext(ctx, "session: remember-me cookie presented with a wrong validator; revoked all the user's devices",
		"user", d.UserID, "device", d.Label, "revoked", n, "err", err)
	if err != nil {
		return wrapOp(fmt.Sprintf("remember-me: revoke devices of %q after a wrong validator", d.UserID), err)
	}
	return ErrNoSession
}

// Devices returns userID's live remember-me devices, oldest first.
func (m *Manager) Devices(ctx context.Context, userID string) ([]Device, error) {
	if m.closed.isClosed() {
		return nil, ErrClosed
	}
	var recs []*DeviceRecord
	err := m.devicesDo("devices", func(st Store) (err error) { recs, err = st.ListDevices(ctx, userID, m.now()); return err })
	if err != nil {
		return nil, wrapOp(fmt.Sprintf("devices of %q", userID), err)
	}
	out := make([]Device, len(recs))
	for i, d := range recs {
		out[i] = d.Device
	}
	return out, nil
}

// ForgetDevice revokes one of userID's remember-me devices; its cookie
// starts no session afterwards. Forgetting an absent device, or another
// user's, does nothing and is no error.
func (m *Manager) ForgetDevice(ctx context.Context, userID, selector string) error {
	if m.closed.isClosed() {
		return ErrClosed
	}
	if err := m.devicesDo("forget device", func(st Store) error { return st.DeleteDevice(ctx, userID, selector) }); err != nil {
		return wrapOp(fmt.Sprintf("forget device of %q", userID), err)
	}
	return nil
}

// forgetDevices revokes every remember-me device of userID (LogoutAll).
func (m *Manager) forgetDevices(ctx context.Context, userID string) error {
	if err := m.devicesDo("forget devices", func(st Store) error { _, err := st.DeleteUserDevices(ctx, userID); return err }); err != nil {
		return wrapOp(fmt.Sprintf("forget devices of %q", userID), err)
	}
	return nil
}

// forgetCurrentDevice is Logout's part: it revokes the device of r's
// remember-me cookie, if it is userID's, and clears the cookie, so that
// logging out is not undone by the next request.
func (m *Manager) forgetCurrentDevice(w http.ResponseWriter, r *http.Request, userID string) error {
	sel, _, ok := m.rememberCookie(r)
	if _, err := r.Cookie(m.rememberCookieName()); err == nil {
		m.clearRememberCookie(w)
	}
	if !ok || userID == "" {
		return nil
	}
	return m.ForgetDevice(r.Context(), userID, sel)
}

// rememberCookie returns the parts of r's remember-me cookie, if it has a
// well-formed one.
func (m *Manager) rememberCookie(r *http.Request) (selector, validator string, ok bool) {
	c, err := r.Cookie(m.rememberCookieName())
	if err != nil {
		return "", "", false
	}
	return parseRememberCookie(c.Value)
}

// rememberCookieName is the session cookie's name with "-remember"
// appended, and the __Host- prefix when the cookie is Secure (the prefix
// makes the browser refuse it from a sub-domain or over plain HTTP).
func (m *Manager) rememberCookieName() string {
	base := strings.TrimPrefix(m.cfg.cookieName, "__Host-")
	if base == "" {
		base = "session"
	}
	if m.cfg.secure {
		return "__Host-" + base + "-remember"
	}
	return base + "-remember"
}

func (m *Manager) setRememberCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{Name: m.rememberCookieName(), Value: value, Path: "/",
		MaxAge: int(m.cfg.remember.lifetime / time.Second), HttpOnly: true, Secure: m.cfg.secure, SameSite: http.SameSiteLaxMode})
}

func (m *Manager) clearRememberCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.rememberCookieName(), Value: "", Path: "/",
		MaxAge: -1, HttpOnly: true, Secure: m.cfg.secure, SameSite: http.SameSiteLaxMode})
}

func (m *Manager) devicesLogger() *slog.Logger {
	if m.cfg.logger != nil {
		return m.cfg.logger
	}
	return slog.Default()
}

// deviceLabel makes a device's label from a User-Agent: printable
// characters only, at most maxDeviceLabel bytes, cut at a character.
func deviceLabel(ua string) string {
	var b strings.Builder
	for _, r := range ua {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxDeviceLabel {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "unknown browser"
	}
	return b.String()
}

// devicesDo runs f on the primary store through its circuit breaker, so
// that device calls share the breaker with sessions and an outage is
// ErrUnavailable. Devices live in the primary store only: a device
// cannot be found in a fallback tier, so during an outage a remember-me
// cookie waits for the primary (the browser keeps it), and the user can
// still log in with a password into the fallback.
func (m *Manager) devicesDo(op string, f func(Store) error) error {
	return m.tier(tierPrimary).do(op, f)
}
