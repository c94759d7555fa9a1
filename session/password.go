package session

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt cost HashPassword uses, and the cost of the
// stand-in hash PasswordAuthenticator checks for unknown users: hashes of
// another cost make unknown users measurably faster or slower.
const PasswordCost = bcrypt.DefaultCost

// MaxPasswordBytes is the longest password HashPassword takes and
// PasswordAuthenticator accepts: bcrypt reads only the first 72 bytes,
// so a longer one would match every password sharing those.
const MaxPasswordBytes = 72

// HashPassword returns password's bcrypt hash at PasswordCost, for
// storing beside a user. bcrypt reads at most 72 bytes, so a longer
// password is an error rather than silently cut.
func HashPassword(password string) ([]byte, error) {
	if len(password) > MaxPasswordBytes {
		return nil, fmt.Errorf("%w: HashPassword: the password is %d bytes; bcrypt reads at most %d: %w",
			ErrInvalid, len(password), MaxPasswordBytes, bcrypt.ErrPasswordTooLong)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	if err != nil {
		return nil, wrapOp("hash password", err)
	}
	return h, nil
}

// UserLookup finds a user for PasswordAuthenticator: its password hash
// (from HashPassword) and its principal. For an unknown user it returns
// ErrInvalidCredentials (or a nil hash); any other error is a failure to
// look, returned as is.
type UserLookup func(ctx context.Context, username string) (hash []byte, p *Principal, err error)

// NewPasswordAuthenticator returns an Authenticator that checks passwords
// against bcrypt hashes found by lookup. An unknown user costs one bcrypt
// comparison too, against a stand-in hash, and gets the same
// ErrInvalidCredentials as a wrong password: neither the answer nor its
// time tells whether the username exists. So does a password longer than
// MaxPasswordBytes, which is never accepted (bcrypt would compare only
// its first 72 bytes).
func NewPasswordAuthenticator(lookup UserLookup) Authenticator {
	return &passwordAuth{lookup: lookup}
}

type passwordAuth struct{ lookup UserLookup }

// compareHash is bcrypt's comparison; a test counts calls through it.
var compareHash = bcrypt.CompareHashAndPassword

// dummyHash is the stand-in hash for unknown users: bcrypt at
// PasswordCost of a random password that was thrown away when this line
// was written, so no password matches it.
var dummyHash = []byte("$2a$10$h6ALsWS7fy8HNFIEBOUBNePfGmzAUmhwj/dy2B/YHZbX017aKeh0.")

// Authenticate implements Authenticator.
func (a *passwordAuth) Authenticate(ctx context.Context, username, password string) (*Principal, error) {
	if a.lookup == nil {
		return nil, fmt.Errorf("%w: NewPasswordAuthenticator(nil)", ErrInvalid)
	}
	hash, p, err := a.lookup(ctx, username)
	known := err == nil && hash != nil && p != nil
	if err != nil && !errors.Is(err, ErrInvalidCredentials) {
		return nil, err
	}
	// A password over bcrypt's 72 bytes is never right (HashPassword
	// refuses to hash one; bcrypt would compare only its first 72), but
	// it takes the same path as a wrong one: one comparison, here with
	// the stand-in hash, and the same error.
	tooLong := len(password) > MaxPasswordBytes
	if !known || tooLong {
		hash = dummyHash
	}
	if compareHash(hash, []byte(password)) != nil || !known || tooLong {
		return nil, ErrInvalidCredentials
	}
	return p, nil
}
