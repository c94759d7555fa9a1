package session

import (
	"context"
	"fmt"
	"time"
)

// rememberConfig is the remember-me part of a Manager's configuration.
type rememberConfig struct {
	lifetime time.Duration
	load     func(ctx context.Context, userID string) (*Principal, error)
}

// rememberGrace is how long a device's previous validator still works
// after a rotation: two tabs that resume at once both present the same
// cookie, and only the first rotates it.
const rememberGrace = time.Minute

// WithRememberMe turns remember-me on, overriding the default (off):
// Remember gives a browser a device cookie that lives for lifetime after
// its last use, and Middleware resumes a session from it when the session
// is gone, loading the user's principal afresh with load (so roles
// changed since are seen). load returns an error wrapping ErrNoSession for
// a user that no longer exists or may no longer log in: the device is
// then forgotten.
func WithRememberMe(lifetime time.Duration, load func(ctx context.Context, userID string) (*Principal, error)) Option {
	return func(c *config) error {
		if lifetime < time.Minute {
			return fmt.Errorf("%w: WithRememberMe lifetime %v: want a minute or more", ErrInvalid, lifetime)
		}
		if load == nil {
			return fmt.Errorf("%w: WithRememberMe: nil load function", ErrInvalid)
		}
		c.remember = rememberConfig{lifetime: lifetime, load: load}
		return nil
	}
}
