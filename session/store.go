package session

import (
	"context"
	"time"
)

// Store keeps sessions and the state that guards them: token revocations
// and refresh families, login failures, remember-me devices. RedisStore,
// MemoryStore and PostgresStore implement it, and
// sessiontest.RunStoreTests checks any implementation.
//
// A Store never sees a live session ID or token: sessions are keyed by a
// Ref, which holds the SHA-256 of the ID, and remember-me validators are
// stored hashed.
type Store interface {
	SessionStore
	TokenStore
	ThrottleStore
	DeviceStore
	// Close releases the store's own resources (not a client it was
	// given). Afterwards every method returns ErrClosed.
	Close() error
}

// SessionStore keeps session records. Liveness is judged against the
// caller's now (the Manager's clock), from the deadlines stored with the
// record, never from the store's own clock: a store's expiry (Redis
// PEXPIRE, a sweep) is only garbage collection.
type SessionStore interface {
	// CreateSession stores rec, and adds it to its user's index when
	// rec.UserID is set. rec.Ref must be new.
	CreateSession(ctx context.Context, rec *Record) error
	// LoadSession returns the session and, in the same step, slides its
	// idle deadline to now+rec.Idle (never past rec.Absolute, never back:
	// a caller whose clock is behind leaves a later deadline). A store may
	// skip a slide of less than rec.Idle/100 that does not reach
	// rec.Absolute, to spare a write per request (RedisStore does); the
	// returned IdleDeadline is the one stored. A session that is absent,
	// or past its idle deadline or absolute expiry at now, is ErrNoSession.
	LoadSession(ctx context.Context, ref Ref, now time.Time) (*Record, error)
	// UpdateSession sets and deletes fields of rec.Values, each field on
	// its own: concurrent updates of different fields all survive.
	// ErrNoSession when the session is gone or expired at now.
	UpdateSession(ctx context.Context, ref Ref, set map[string]string, del []string, now time.Time) error
	// RenewSession ends old and stores rec in its place: old stops working
	// before rec exists, so a failure half-way leaves neither, never both.
	// It is how a login or a privilege change gets a new ID; the caller
	// chooses rec.Values. ErrNoSession (and rec not stored) when old is
	// gone or expired at now.
	RenewSession(ctx context.Context, old Ref, rec *Record, now time.Time) error
	// DeleteSession ends one session; ending an absent one is no error.
	DeleteSession(ctx context.Context, ref Ref) error
	// DeleteUserSessions ends every session of userID in one operation
	// (not a scan) and says how many of them were live at now.
	DeleteUserSessions(ctx context.Context, userID string, now time.Time) (int, error)
	// ListUserSessions returns userID's sessions live at now, oldest
	// first.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*Record, error)
}

// Ref names a stored session without holding its ID: Shard groups a
// user's sessions (Redis uses it as the hash tag, so a user's sessions and
// index sit in one slot) and Hash is the hex SHA-256 of the secret part of
// the ID.
type Ref struct {
	Shard string
	Hash  string
}

// String returns "shard.hash".
func (r Ref) String() string { return r.Shard + "." + r.Hash }

// Record is a stored session.
type Record struct {
	Ref     Ref
	UserID  string // "" for an anonymous (pre-login) session
	Created time.Time
	// Absolute is when the session ends however busy it is.
	Absolute time.Time
	// Idle is how long the session lives unused; IdleDeadline is when it
	// ends unless used before.
	Idle         time.Duration
	IdleDeadline time.Time
	// Values holds the session's fields. Keys starting with "_" are the
	// package's own (the principal, the CSRF secret...); an application's
	// keys are stored with a "v:" prefix so it can never reach them.
	Values map[string]string
}
