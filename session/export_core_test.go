package session

import (
	"context"
	"net/http"
	"time"
)

// WithClock makes the Manager read time from now: tests move it to cross
// idle and absolute deadlines without waiting.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		c.now = now
		return nil
	}
}

// ParseSessionID exposes the cookie parser to the fuzz target.
func ParseSessionID(v string) (string, bool) {
	id, err := parseSessionID(v)
	if err != nil {
		return "", false
	}
	return id.cookieValue(), true
}

// IsPublic exposes the public-path matcher.
func IsPublic(patterns []string, p string) (bool, error) {
	var pps []pathPattern
	for _, s := range patterns {
		pp, err := compilePattern(s)
		if err != nil {
			return false, err
		}
		pps = append(pps, pp)
	}
	return isPublic(pps, p), nil
}

// ShardOf exposes shardOf.
var ShardOf = shardOf

// AnonymousSession exposes anonymousSession (CSRF's pre-login session).
func AnonymousSession(m *Manager, w http.ResponseWriter, r *http.Request) (*Session, error) {
	return m.anonymousSession(w, r)
}

// SetInternal and Internal expose the package's own fields.
func SetInternal(s *Session, ctx context.Context, name, value string) error {
	return s.setInternal(ctx, name, value)
}

// Internal returns the package's own field name.
func Internal(s *Session, name string) (string, bool) { return s.internal(name) }
