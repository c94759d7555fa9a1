package session

import (
	"context"
	"net/http"
	"time"
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

var DevicesIsUnavailable = isUnavailable

func DevicesSetPgLockTimeout(d time.Duration) (restore func()) {
	old := pgLockTimeout
	pgLockTimeout = d
	return func() { pgLockTimeout = old }
}

const DevicesGrace = rememberGrace
