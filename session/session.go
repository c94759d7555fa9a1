package session

import (
	"context"
	"errors"
)

// Principal is who a session or token speaks for: the user, the roles and
// permissions the Authenticator loaded, and free attributes (tenant,
// department...) for attribute-based checks.
type Principal struct {
	UserID      string
	Username    string
	Roles       []string
	Permissions []string
	Attrs       map[string]string
}

// Authenticator checks a username and password and loads the principal
// (the seed's UserService plus PermissionService). A wrong password or an
// unknown user must both be ErrInvalidCredentials, so that the two cannot
// be told apart.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, username, password string) (*Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, username, password string) (*Principal, error) {
	return f(ctx, username, password)
}

var (
	// ErrInvalidCredentials is Login's error for an unknown user or a wrong
	// password, alike.
	ErrInvalidCredentials = errors.New("session: invalid credentials")
	// ErrThrottled is Login's error while the username or client is locked
	// out after too many failures; errors.As to *ThrottleError says until when.
	ErrThrottled = errors.New("session: too many failed logins")
	// ErrNoSession means the request carries no live session: none, an
	// unknown or ended one, or one past its idle or absolute timeout.
	ErrNoSession = errors.New("session: no session")
	// ErrClosed is returned by every method of a closed Manager or Store.
	ErrClosed = errors.New("session: closed")
	// ErrInvalid names a bad argument or option.
	ErrInvalid = errors.New("session: invalid argument")
	// ErrUnavailable means the store cannot be reached and its circuit
	// breaker is open; Middleware answers 503 or asks for a new login,
	// never lets the request through.
	ErrUnavailable = errors.New("session: store unavailable")
)
