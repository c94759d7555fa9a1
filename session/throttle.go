package session

import (
	"context"
	"net/http"
)

// ThrottleStore counts failed logins per key. (Defined by the throttle work.)
type ThrottleStore interface{}

type memThrottle struct{}
type redisThrottle struct{}
type pgThrottle struct{}

// throttleConfig is the login-throttling part of a Manager's configuration.
type throttleConfig struct{}

// throttleBefore refuses a login attempt while username or the client is
// locked out (ErrThrottled), or needs a challenge.
func (m *Manager) throttleBefore(ctx context.Context, r *http.Request, username string) error {
	_, _, _ = ctx, r, username
	return nil
}

// throttleAfter records the outcome of a login attempt.
func (m *Manager) throttleAfter(ctx context.Context, r *http.Request, username string, ok bool) error {
	_, _, _, _ = ctx, r, username, ok
	return nil
}

const pgThrottleDDL = ""
