package session

import (
	"context"
	"sync"
)

// Session is one user's (or an anonymous visitor's) session, as the
// Middleware puts it in a request's context. A Session built from a
// bearer token has a principal and no stored fields.
type Session struct {
	m         *Manager
	mu        sync.Mutex
	rec       *Record    // nil for a session built from a bearer token
	principal *Principal // nil for an anonymous session
}

// Principal returns who the session speaks for, or nil for an anonymous
// session.
func (s *Session) Principal() *Principal { return s.principal }

// internal returns the package's own field name ("_"+name).
func (s *Session) internal(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return "", false
	}
	v, ok := s.rec.Values["_"+name]
	return v, ok
}

// setInternal stores the package's own field name ("_"+name).
func (s *Session) setInternal(ctx context.Context, name, value string) error {
	_, _, _ = ctx, name, value
	return ErrNoSession // core: to be written
}
