package session

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Session is one user's (or an anonymous visitor's) session, as the
// Middleware puts it in a request's context. A Session built from a
// bearer token has a principal and no stored fields.
//
// Set and Delete write through to the store at once, one field at a
// time: two requests of one session that set different keys both keep
// their write (no "save the whole map at the end of the request").
type Session struct {
	m         *Manager
	mu        sync.Mutex
	tier      tier       // the store holding rec
	rec       *Record    // nil for a session built from a bearer token
	principal *Principal // nil for an anonymous session
}

// Principal returns who the session speaks for, or nil for an anonymous
// session.
func (s *Session) Principal() *Principal { return s.principal }

// UserID returns the principal's UserID, or "" for an anonymous session.
func (s *Session) UserID() string {
	if s.principal == nil {
		return ""
	}
	return s.principal.UserID
}

// CreatedAt returns when the session started (the zero time for a
// session built from a bearer token).
func (s *Session) CreatedAt() time.Time {
	if s.rec == nil {
		return time.Time{}
	}
	return s.rec.Created
}

// ExpiresAt returns when the session ends unless used before: its idle
// deadline as of this request, never past its absolute expiry.
func (s *Session) ExpiresAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return time.Time{}
	}
	return s.rec.IdleDeadline
}

// Get returns the value of key as loaded with the request (plus this
// request's own Set and Delete).
func (s *Session) Get(key string) (string, bool) {
	return s.field(userPrefix + key)
}

// Set stores value under key, at once and on its own. ErrNoSession when
// the session has ended (or is a bearer token's); ErrUnavailable when the
// store cannot be reached.
func (s *Session) Set(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("%w: empty session key", ErrInvalid)
	}
	return s.update(ctx, map[string]string{userPrefix + key: value}, nil)
}

// Delete removes key, at once and on its own.
func (s *Session) Delete(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty session key", ErrInvalid)
	}
	return s.update(ctx, nil, []string{userPrefix + key})
}

// internal returns the package's own field name ("_"+name).
func (s *Session) internal(name string) (string, bool) { return s.field("_" + name) }

// setInternal stores the package's own field name ("_"+name).
func (s *Session) setInternal(ctx context.Context, name, value string) error {
	if name == "" {
		return fmt.Errorf("%w: empty internal field name", ErrInvalid)
	}
	return s.update(ctx, map[string]string{"_" + name: value}, nil)
}

func (s *Session) field(k string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return "", false
	}
	v, ok := s.rec.Values[k]
	return v, ok
}

func (s *Session) update(ctx context.Context, set map[string]string, del []string) error {
	if s.rec == nil {
		return fmt.Errorf("%w: a bearer token's session has no stored fields", ErrNoSession)
	}
	if s.m.closed.isClosed() {
		return ErrClosed
	}
	err := s.m.tier(s.tier).do("update", func(st Store) error {
		return st.UpdateSession(ctx, s.rec.Ref, set, del, s.m.now())
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range set {
		s.rec.Values[k] = v
	}
	for _, k := range del {
		delete(s.rec.Values, k)
	}
	return nil
}
