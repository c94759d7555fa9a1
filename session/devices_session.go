package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// devicesStartSession starts a new logged-in session for p, as a resumed
// remember-me device needs. It is the smallest stand-in for the core's
// session creation (ID, record, cookie) and goes when the parts are
// joined: the core's own function replaces the one call to it in
// resumeRemembered.
func (m *Manager) devicesStartSession(w http.ResponseWriter, r *http.Request, p *Principal) (*Session, error) {
	var id [32]byte
	_, _ = rand.Read(id[:])
	secret := base64.RawURLEncoding.EncodeToString(id[:])
	sum := sha256.Sum256([]byte(secret))
	idle, absolute := m.cfg.idle, m.cfg.absolute
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	if absolute <= 0 {
		absolute = 12 * time.Hour
	}
	now := m.devicesNow()
	rec := &Record{
		Ref:    Ref{Shard: devicesShardOf(p.UserID), Hash: hex.EncodeToString(sum[:])},
		UserID: p.UserID, Created: now, Absolute: now.Add(absolute), Idle: idle, IdleDeadline: now.Add(idle),
		Values: map[string]string{},
	}
	if err := m.store.CreateSession(r.Context(), rec); err != nil {
		return nil, fmt.Errorf("session: start a session for a remembered device: %w", err)
	}
	name := m.cfg.cookieName
	if name == "" {
		name = "session"
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: rec.Ref.Shard + "." + secret, Path: "/",
		HttpOnly: true, Secure: m.cfg.secure, SameSite: http.SameSiteLaxMode})
	return &Session{m: m, rec: rec, principal: p}, nil
}
