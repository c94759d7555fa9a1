package session

import (
	"context"
	"net/http"
)

// DeviceStore keeps remember-me devices. (Defined by the remember-me work.)
type DeviceStore interface{}

type memDevices struct{}
type redisDevices struct{}
type pgDevices struct{}

// rememberConfig is the remember-me part of a Manager's configuration.
type rememberConfig struct{}

// resumeRemembered starts a new session from r's remember-me cookie, if it
// holds a live device token.
func (m *Manager) resumeRemembered(w http.ResponseWriter, r *http.Request) (*Session, error) {
	_, _ = w, r
	return nil, ErrNoSession
}

// forgetDevices revokes every remember-me device of userID (LogoutAll).
func (m *Manager) forgetDevices(ctx context.Context, userID string) error {
	_, _ = ctx, userID
	return nil
}

const pgDevicesDDL = ""
