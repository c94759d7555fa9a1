package session

import (
	"context"
	"errors"
	"time"
)

// TokenStore keeps what JWT revocation needs: a token version per user
// (raising it revokes every token issued before), a deny-list of single
// token IDs, refresh-token families, and a watch that tells every
// Manager about revocations so that VerifyToken needs no round trip.
//
// Times passed as until are when the entry stops mattering (every token
// it covers has expired); a store may forget an entry after it.
type TokenStore interface {
	// TokenVersion returns userID's token version, 0 when never raised.
	TokenVersion(ctx context.Context, userID string) (int64, error)
	// BumpTokenVersion raises userID's token version by one and returns
	// the new one; watchers hear of it, and snapshots list it until
	// until. The version itself is kept for good.
	BumpTokenVersion(ctx context.Context, userID string, until time.Time) (int64, error)
	// DenyToken puts the token ID jti on the deny-list until until.
	DenyToken(ctx context.Context, jti string, until time.Time) error
	// CheckToken returns userID's token version and whether jti is
	// denied, in one round trip: VerifyToken's path while the
	// revocation watch is down.
	CheckToken(ctx context.Context, userID, jti string) (version int64, denied bool, err error)
	// StartFamily records a new refresh family whose current refresh
	// token is jti; the family lives until until.
	StartFamily(ctx context.Context, family, jti string, until time.Time) error
	// SpendRefresh moves family from jti to next (living until until)
	// when jti is its current token. When jti is not (a spent token used
	// again) the family is revoked for good and the result is
	// ErrRefreshReused; an unknown or expired family is ErrInvalidToken.
	SpendRefresh(ctx context.Context, family, jti, next string, until time.Time) error
	// RevocationSnapshot returns every revocation still in force at now.
	RevocationSnapshot(ctx context.Context, now time.Time) (*RevocationSnapshot, error)
	// SubscribeRevocations returns once the subscription is established:
	// every revocation committed after it returns is delivered by Next.
	SubscribeRevocations(ctx context.Context) (RevocationSubscription, error)
}

// Revocation is one change a revocation watch delivers: a user's new
// token version (UserID, Version) or a denied token ID (JTI). Until is
// when it stops mattering.
type Revocation struct {
	UserID  string
	Version int64
	JTI     string
	Until   time.Time
}

// RevocationSnapshot is every revocation in force at one moment.
type RevocationSnapshot struct {
	Versions []Revocation // UserID, Version, Until
	Denied   []Revocation // JTI, Until
}

// RevocationSubscription is a live stream of revocations.
type RevocationSubscription interface {
	// Next waits for the next revocation. An error means the
	// subscription is broken (or closed): revocations may have been
	// missed, and the watcher must subscribe again and reload a
	// snapshot.
	Next(ctx context.Context) (Revocation, error)
	// Close ends the subscription; it may be called while Next waits,
	// and makes it return.
	Close() error
}

var (
	// ErrInvalidToken is VerifyToken's and RefreshToken's error for a
	// token that is malformed, wrongly signed, signed with an unknown
	// key or algorithm, expired, not yet valid, or of the wrong type.
	ErrInvalidToken = errors.New("session: invalid token")
	// ErrTokenRevoked means a well-formed token was revoked: denied by
	// RevokeToken, issued before its user's LogoutAll, or a refresh
	// token of a revoked family.
	ErrTokenRevoked = errors.New("session: token revoked")
	// ErrRefreshReused means a refresh token was used a second time: its
	// whole family is revoked (errors.Is ErrTokenRevoked too).
	ErrRefreshReused = errors.New("session: refresh token reused; its family is revoked")
	// ErrNoSigningKey is IssueToken's and RefreshToken's error when no
	// key is configured (WithSigningKey or WithHMACKey).
	ErrNoSigningKey = errors.New("session: no token signing key; configure WithSigningKey or WithHMACKey")
)
