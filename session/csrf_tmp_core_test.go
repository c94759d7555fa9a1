package session

// TEMP (throttle part, until the core part lands): a stand-in for the
// core's anonymousSession and Session.setInternal, so that the CSRF tests
// run. The integrator deletes this file; the CSRF tests then run against
// the real core unchanged (they only use cookies and HTTP).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
)

var tmpSessions sync.Map // cookie value -> *Session

func init() {
	csrfSession = func(m *Manager, w http.ResponseWriter, r *http.Request) (*Session, error) {
		if c, err := r.Cookie("tmp_sid"); err == nil {
			if s, ok := tmpSessions.Load(c.Value); ok {
				return s.(*Session), nil
			}
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		s := &Session{m: m, rec: &Record{Values: map[string]string{}}}
		tmpSessions.Store(id, s)
		http.SetCookie(w, &http.Cookie{Name: "tmp_sid", Value: id, Path: "/", HttpOnly: true})
		return s, nil
	}
	csrfSetSecret = func(s *Session, _ context.Context, name, value string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.rec.Values["_"+name] = value
		return nil
	}
}
