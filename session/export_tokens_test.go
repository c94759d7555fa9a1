package session

import (
	"context"
)

// TokenTestHooks let a test see and steer a Manager's revocation watch.
// They run on the watch's goroutine; any may be nil.
type TokenTestHooks struct {
	BeforeSubscribe func()           // before each subscription attempt
	AfterSubscribe  func()           // subscription confirmed, snapshot not yet loaded
	Trust           func(bool)       // the mirror became trusted (true) or not (false)
	Applied         func(Revocation) // a revocation from the subscription was applied
}

// WithTokenTestHooks installs h before the watch starts.
func WithTokenTestHooks(h TokenTestHooks) Option {
	return func(c *config) error {
		c.tokens.hooks = tokenHooks{onBeforeSubscribe: h.BeforeSubscribe, onAfterSubscribe: h.AfterSubscribe, onTrust: h.Trust, onApplied: h.Applied}
		return nil
	}
}

// RevokeUserTokens calls the hook LogoutAll uses.
func RevokeUserTokens(ctx context.Context, m *Manager, userID string) error {
	return m.revokeUserTokens(ctx, userID)
}

// BearerSession calls the hook Middleware uses for a bearer token.
var BearerSession = (*Manager).bearerSession

// MirrorSize is how many revocations m's mirror holds.
func MirrorSize(m *Manager) int { return m.tokens.mirror.size() }
