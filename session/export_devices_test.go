package session

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Test hooks of the remember-me part.

func DevicesResume(m *Manager, w http.ResponseWriter, r *http.Request) (*Session, error) {
	return m.resumeRemembered(w, r)
}

func DevicesForgetCurrent(m *Manager, w http.ResponseWriter, r *http.Request, userID string) error {
	return m.forgetCurrentDevice(w, r, userID)
}

func DevicesForgetAll(m *Manager, ctx context.Context, userID string) error {
	return m.forgetDevices(ctx, userID)
}

func DevicesParseCookie(v string) (selector, validator string, ok bool) {
	return parseRememberCookie(v)
}

func DevicesSetClock(m *Manager, now func() time.Time) { m.cfg.now = now }

// DevicesLoggedIn is a logged-in Session for p, as Login would return.
func DevicesLoggedIn(m *Manager, p *Principal) *Session {
	return &Session{m: m, principal: p, rec: &Record{UserID: p.UserID}}
}

var DevicesIsUnavailable = isUnavailable

func DevicesSetPgLockTimeout(d time.Duration) (restore func()) {
	old := pgLockTimeout
	pgLockTimeout = d
	return func() { pgLockTimeout = old }
}

const DevicesGrace = rememberGrace

func DevicesSetCookie(m *Manager, name string, secure bool) {
	m.cfg.cookieName, m.cfg.secure = name, secure
}

// DevicesSetMeterProvider stands in for the core's WithMeterProvider
// until the parts are joined.
func DevicesSetMeterProvider(m *Manager, mp metric.MeterProvider) {
	m.closeDevices()
	m.cfg.meter = mp
	m.initDevices()
}
