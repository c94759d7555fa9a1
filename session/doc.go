// Package session is login sessions for Go web services: sessions in Redis
// (or memory, or PostgreSQL), JWT access and refresh tokens with
// revocation, an authentication middleware, CSRF protection, login
// throttling and remember-me devices.
//
// # Sessions
//
// (core)
//
// # Tokens
//
// (tokens)
//
// # Login throttling
//
// Every Login attempt counts against two keys: the username (compared
// case-insensitively, and counted whether or not the user exists, so the
// answer never says which) and the client (WithClientKey; by default the
// host of r.RemoteAddr, an IPv6 address's /64). The attempt is counted
// before the password is checked, in one atomic step per key in the
// store, so that Manager instances sharing a store share the limits and
// concurrent attempts cannot slip past them; a success forgets the
// username's count (not the client's: an attacker could otherwise clear
// it by logging in to an account of their own).
//
//   - Lockout (WithLockout, default 5 failures in a 15-minute window, one
//     minute): the attempt that reaches the limit goes ahead and locks the
//     key; until the lockout ends Login returns ErrThrottled (errors.As
//     to *ThrottleError for Until) without checking the password. Each
//     further lockout of a key doubles, up to 24 hours; lockouts are
//     forgotten once a key has had none for 24 hours. A client gets 4
//     times a username's failures unless WithClientLockout.
//   - Challenge (WithChallenge, WithChallengeAfter; default after half the
//     lockout's failures): from then on, and after any lockout, Login
//     returns ErrChallengeRequired (*ThrottleError with Challenge set)
//     unless the application's hook says the request passed its challenge
//     (a CAPTCHA of its choosing). A refused attempt is not counted.
//     Without WithChallenge there is no challenge step.
//   - Behind a proxy every request has the proxy's address: give
//     WithClientKey a key from the header the proxy sets. X-Forwarded-For
//     is never trusted by default, since any client can send one.
//   - Fails closed: when the store cannot be reached Login fails with
//     ErrUnavailable and no password is checked.
//
// The same error (ErrInvalidCredentials) for an unknown user and a wrong
// password is the Authenticator's duty; NewPasswordAuthenticator does it
// for bcrypt hashes (HashPassword), checking unknown users against a
// stand-in hash so that both take one bcrypt comparison.
//
// # CSRF
//
// Manager.CSRF is a synchronizer-token middleware bound to the session:
// each session, including the anonymous one a visitor gets before login
// (so the login form is protected), holds a random 32-byte secret, and a
// new one after Login. CSRFToken(r) and CSRFField(r) hand templates the
// secret masked with a fresh random pad on every call (against BREACH);
// all verify. Requests with unsafe methods (not GET, HEAD, OPTIONS,
// TRACE) need both a token that unmasks to the session's secret (header
// X-CSRF-Token or form field csrf_token; compared in constant time) and
// an Origin (else Referer) header naming the request's own scheme and
// host or one of WithTrustedOrigins; a request with neither header is
// refused. The scheme is https when the request came over TLS or cookies
// are Secure. SameSite cookies help but are never relied on. Refusals get
// 403 with the reason (503 when the store is unreachable), or
// WithCSRFFailureHandler's answer; CSRFFailure(r) wraps ErrCSRF with the
// reason.
//
// # Remember me
//
// (remember-me)
//
// # Keys
//
// (each part lists its Redis keys here)
//
//	<prefix>f:u:<hash>  a username's login throttle (a hash: attempts, window start,
//	                    lockouts, locked until); <hash> is hex of 16 bytes of SHA-256 of the lower-cased username
//	<prefix>f:c:<hash>  a client's login throttle; <hash> likewise of the client key
//
// Throttle keys expire on their own once their window and lockout memory
// have passed. In PostgreSQL they are rows of session_throttle, swept a
// few at a time by later attempts.
//
// # Errors
//
// # Guarantees
package session
