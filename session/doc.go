// Package session is login sessions for Go web services: sessions in Redis
// (or memory, or PostgreSQL), JWT access and refresh tokens with
// revocation, an authentication middleware, CSRF protection, login
// throttling and remember-me devices.
//
// The typical wiring: one store, one Manager, every browser route behind
// Middleware and CSRF, and Login in the login form's handler.
//
//	store := session.NewRedisStore(rdb) // a redis.UniversalClient
//	m, err := session.NewManager(store, users, // users: an Authenticator
//		session.WithCookie("session", true),
//		session.WithSigningKey("2025-01", ed25519Key),
//		session.WithPublicPaths("/login", "/static/**"),
//		session.WithLockout(5, time.Minute))
//	if err != nil { ... }
//	defer m.Close()
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		_, err := m.Login(w, r, r.PostFormValue("username"), r.PostFormValue("password"))
//		switch {
//		case errors.Is(err, session.ErrChallengeRequired): // show the CAPTCHA
//		case err != nil: // ErrInvalidCredentials, ErrThrottled, ErrUnavailable
//		default: http.Redirect(w, r, "/", http.StatusSeeOther)
//		}
//	})
//	http.ListenAndServe(addr, m.Middleware(m.CSRF(mux)))
//
// Handlers read the user with FromContext or PrincipalFromContext; the
// privilege package takes that *Principal as its subject (HasRole and
// HasPermission answer the direct grants).
//
// # Sessions
//
// Manager.Login checks a username and password (throttling first, then
// the Authenticator) and starts a session: a new 256-bit ID from
// crypto/rand, sent in a cookie (HttpOnly, SameSite=Lax, Path=/, and with
// WithCookie's secure, the default, Secure and the "__Host-" prefix). The
// cookie holds "<shard>.<base64url(secret)>" ("f." in front for a session
// in the fallback store); a store holds only the shard and the SHA-256 of
// the secret, so a dump of it holds no live ID. The shard of a logged-in
// session is the first 8 hex characters of SHA-256(userID): a user's
// sessions and their index share it, which makes LogoutAll one operation
// per store. Cookie values are parsed strictly (length, alphabet,
// canonical base64): anything else is no session.
//
// Every login gets a new ID, and the session the request came with, if
// any, is ended first: an ID an attacker planted, an anonymous
// session's, or the user's own previous one is dead afterwards (session
// fixation). Manager.Renew does the same for a privilege change.
// Application values (Session.Set) carry over to the new ID from an
// anonymous session or the same user's, never from another user's.
//
// A session ends when unused for the idle timeout or at the absolute
// timeout however busy (WithTimeouts; 30m and 12h by default). Deadlines
// are stored with the session and judged against the Manager's clock;
// each request slides the idle deadline in the same step that loads the
// session (one round trip to Redis). Redis writes the slide only when it
// moves the deadline by 1% of the idle timeout or more (18s of the
// default 30m), so a busy session is a read on most requests; the price
// is precision: a session may end up to 1% of its idle timeout early,
// never late. Session.Set and Session.Delete write one field at once: two
// requests of one session that set different keys both keep their write.
//
// Middleware authenticates a request by an "Authorization: Bearer"
// token, else the session cookie, else a remember-me device, and puts the
// *Session in its context (FromContext). Paths given to WithPublicPaths
// are served without one (and still get the session when there is one,
// an anonymous one included); an anonymous session (the one CSRF makes
// for a login form) logs nobody in, so on other paths it counts as none.
// Other requests without a logged-in session are answered by the
// Middleware: a redirect to WithLoginURL (default "/login", with a "next"
// parameter) for a browser's GET or HEAD accepting text/html, else 401.
//
// Each store is called through a circuit breaker (WithBreaker). While the
// store of a request's session cannot be reached the Middleware answers
// 503, or asks for a new login with WithReloginOnOutage: never lets the
// request through. With WithFallbackStore (a PostgresStore, say), logins
// during an outage of the primary create their sessions in the fallback,
// and those keep working; sessions of the primary wait for it (503 or
// re-login), and a previous session in the unreachable primary cannot be
// ended by such a login. Login throttling goes through the same breakers
// and fails over the same way (counts start afresh in the fallback);
// remember-me devices live in the primary only.
//
// Metrics (WithMeterProvider): session.logins (outcome),
// session.middleware.requests (outcome), session.sessions.created
// (tier), session.sessions.ended (reason), session.store.errors (tier).
// Spans (WithTracerProvider) for Login, Logout, LogoutAll and Renew.
//
// # Tokens
//
// IssueToken gives a logged-in session a pair of JWTs (golang-jwt/jwt/v5):
// a short-lived access token (5 minutes by default) and a refresh token
// (24 hours; WithTokenLifetimes). Both carry sub (the user ID), jti, iat,
// nbf, exp, the principal (name, roles, perms, attrs — keep it small: it
// travels with every request), ver (the user's token version when issued)
// and typ ("access" or "refresh"); a refresh token also carries fam, its
// refresh family. WithTokenIssuer adds iss and aud.
//
// Keys: WithSigningKey (ed25519 → EdDSA, the default choice; ECDSA P-256 →
// ES256; any crypto.Signer, so a key may live in an HSM) and WithHMACKey
// (HS256, at least 32 bytes). Each token names its key by kid, and a key
// verifies only tokens naming it and only with its own algorithm: alg
// "none", an HS256 token "signed" with a public key, an unknown kid are
// all ErrInvalidToken. Rotation: give several keys; the last signs, all
// verify, so drop an old key once its last token has expired. Without
// any key, tokens are unavailable: IssueToken returns ErrNoSigningKey
// (no key is generated, since one instance's random key would not verify
// on another).
//
// RefreshToken trades a refresh token for a new pair; the refresh token
// rotates on use, and using a spent one again revokes its whole family
// (ErrRefreshReused): neither the thief's nor the user's later refresh
// tokens work. Access tokens already issued in the family live out their
// short lifetime.
//
// Revocation: RevokeToken puts one token's jti on a deny-list until the
// token expires; LogoutAll raises the user's token version, revoking every
// token issued before. VerifyToken makes no store round trip: each
// Manager keeps a mirror of the revocations that still matter (entries
// end when the tokens they cover expire), fed by the store's revocation
// watch (Redis Pub/Sub; PostgreSQL LISTEN/NOTIFY; in-process for the
// memory store). To start or restart the watch a Manager subscribes
// first, then loads a snapshot, and only then trusts the mirror, so no
// revocation falls between the two. A revocation is seen by the Manager
// that made it at once and by the others as soon as the store delivers
// the message (Pub/Sub latency, normally well under a millisecond on a
// LAN); until then another instance may accept the token.
//
// While the watch is not established — at start-up, while Redis is
// unreachable, after a broken or silent subscription (one silent for 5s
// is pinged; no answer breaks it) — the mirror is not trusted: every
// VerifyToken asks the store (one round trip), and if the store does not
// answer it fails with ErrUnavailable. A token that may have been revoked
// is never accepted. When the watch is back (retried with backoff up to
// one second) the snapshot is reloaded and VerifyToken is local again.
// Managers sharing a store should use the same token lifetimes: the
// store keeps a LogoutAll in its snapshots for the access lifetime (plus
// the leeway and a minute) of the Manager that made it.
//
// In a request, Middleware takes Authorization: Bearer <access token>
// and puts a Session built from the claims in the context (it has a
// principal and no stored fields). IssueToken refuses such a Session
// (ErrInvalid): a token pair is issued for a logged-in session, never
// from a token, so no endpoint can turn an access token into a fresh
// refresh family.
//
// Token state lives in the primary store only, and every call to it
// (IssueToken, RefreshToken, RevokeToken, LogoutAll's version bump,
// VerifyToken's check while the watch is down) goes through the
// primary's circuit breaker: while the primary is down they fail with
// ErrUnavailable, at once once the breaker is open, even with
// WithFallbackStore (sessions fail over, tokens do not).
//
// # Login throttling
//
// Every Login attempt counts against two keys: the username (trimmed,
// case-folded and NFKC-normalized, so that " Alice" and "alice" share a
// limit, and counted whether or not the user exists, so the answer never
// says which) and the client (WithClientKey; by default the
// host of r.RemoteAddr, an IPv6 address's /64). The attempt is counted
// before the password is checked, in one atomic step per key in the
// store, so that Manager instances sharing a store share the limits and
// concurrent attempts cannot slip past them. A success forgets the
// username's count, and takes back its own attempt on the client's
// (ThrottleStore.ThrottleForgive), so that successful logins never lock
// out an address many users share (an office, a NAT); the client's
// failures stay (an attacker cannot clear them by logging in to an
// account of their own). Should the success have been the attempt that
// reached the client's limit, the lockout it set off is taken back too;
// no other lockout is ever lifted by a login. Attempts still in flight
// count meanwhile: a client with more logins under way at once than its
// limit allows is refused until they finish.
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
//   - Fails closed: when no store can be reached (the primary, then the
//     fallback of WithFallbackStore, each behind its circuit breaker)
//     Login fails with ErrUnavailable and no password is checked.
//
// The same error (ErrInvalidCredentials) for an unknown user and a wrong
// password is the Authenticator's duty; NewPasswordAuthenticator does it
// for bcrypt hashes (HashPassword), checking unknown users against a
// stand-in hash so that both take one bcrypt comparison. bcrypt reads
// only a password's first 72 bytes (MaxPasswordBytes): HashPassword
// refuses a longer one (ErrInvalid), and the authenticator answers one
// as a wrong password, on the same path, rather than let it in on its
// first 72 bytes.
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
// With WithRememberMe, Manager.Remember (after Login, when the user asks)
// gives the browser a device: a persistent cookie "<selector>.<validator>"
// (HttpOnly, SameSite=Lax, Path=/, Secure and __Host- prefixed when the
// session cookie is; named after it with "-remember"). The selector names
// the device; the validator is 256 random bits the store keeps only as
// its SHA-256. When a request has no live session, Middleware resumes one
// from the device: the cookie is parsed strictly, the validator's hash is
// compared in constant time, the user's principal is loaded afresh (roles
// changed since are seen), the validator is rotated by compare-and-set
// (a new cookie) and a new session starts. A device lives the configured
// lifetime after its last use. Manager.Devices lists a user's devices
// (label from the User-Agent, created, last used, expires) and
// ForgetDevice revokes one; Logout forgets the current device and clears
// its cookie; LogoutAll forgets every device of the user.
//
// A live selector presented with a wrong validator means the cookie was
// copied and one copy has been used since: every device of the user is
// revoked (the sessions already started are not; a warning is logged and
// the outcome "theft" counted). The trade-offs: a response with a rotated
// cookie that never reaches the browser (a dropped connection, a crash
// after the rotation) makes that browser's next visit look like theft, and
// whoever holds an old cookie can revoke the user's devices — both cost a
// login, never access.
//
// The grace: the previous validator stays valid for one minute after a
// rotation, so two tabs resuming at once both get a session. A use within
// the grace starts a session and nothing else: it rotates nothing, sets
// no cookie, extends neither the device's life nor the grace, and is
// counted (outcome "grace"). The price: a thief holding a copy of the
// cookie the user's browser just rotated away from, who uses it within
// that minute, gets a session (one per use, each living its normal
// timeouts) and is not detected then; after the minute that copy only
// sets off the theft signal. The copy can never be rotated into a device
// of its own, so the thief keeps nothing beyond those sessions, which
// LogoutAll ends.
//
// # Keys
//
// Redis keys (the prefix is "session:" unless WithKeyPrefix):
//
//	<prefix>{<shard>}:s:<hash>        a session (hash): fields "@..." are the store's
//	                                  (deadlines, user), ".<key>" the values
//	<prefix>{<shard>}:u:<userID>      a user's session index (set of session hashes)
//	<prefix>t:{r}:ver                 user ID → token version (hash, kept for good)
//	<prefix>t:{r}:bumps               user IDs whose version rose, by when it stops mattering (sorted set)
//	<prefix>t:{r}:denied              denied jtis, by their token's expiry (sorted set)
//	<prefix>t:f:<family>              a refresh family's current jti, "!" once revoked (string)
//	<prefix>t:revoked                 the Pub/Sub channel of revocations
//	<prefix>f:u:<hash>                a username's login throttle (hash: attempts, window
//	                                  start, lockouts, locked until)
//	<prefix>f:c:<hash>                a client's login throttle (same hash)
//	<prefix>d:{<shard>}:d:<selector>  a remember-me device (hash)
//	<prefix>d:{<shard>}:u:<userID>    a user's device index (set of selectors)
//
// <shard> is the first 8 hex characters of SHA-256(userID) (random for an
// anonymous session), so a user's sessions, session index, devices and
// device index share one Cluster slot, and a selector begins with its
// user's shard; <hash> of a session is the SHA-256 of its secret, that of
// a throttle key hex of 16 bytes of SHA-256 of the trimmed, NFKC
// case-folded username or of the client key, so no key holds a live ID or
// a username. Every script touches the keys of one hash tag only
// ({<shard>}, or {r} for the revocation state). Deadlines are judged against the Manager's
// clock; expiry (PEXPIRE a minute past a session's deadline, a device's
// or a family's end, a throttle key's window and lockout memory) only
// collects what has ended.
//
// # PostgreSQL
//
// NewPostgresStore creates, if missing, session_schema (the SHA-256 of
// the DDL the tables were made with) and each part's tables:
// session_sessions (values in a JSONB column updated per field), the
// token tables (revocations are announced with LISTEN/NOTIFY),
// session_throttle (rows swept a few at a time by later attempts) and
// session_devices (by selector; indexed by user and creation, and by
// expiry; expired devices are deleted when their user's devices are
// listed). A start that finds its own DDL's hash in session_schema runs
// no DDL and takes no table lock; otherwise the DDL runs in one
// transaction under an advisory lock (instances starting together take
// turns) with a 10-second lock timeout, the whole bounded to 30 seconds.
// As the fallback tier (WithFallbackStore) it holds the sessions and
// login throttles made while the primary is down.
//
// # Errors
//
// Match with errors.Is:
//
//   - ErrInvalidCredentials: Login, an unknown user or a wrong password
//     alike.
//   - ErrThrottled: Login while the username or client is locked out;
//     ErrChallengeRequired: Login needs the application's challenge first
//     (errors.As to *ThrottleError for both).
//   - ErrNoSession: no live session (none, unknown, ended, expired, a
//     malformed cookie); Renew without one.
//   - ErrCSRF: CSRF refused a request (CSRFFailure(r) says why).
//   - ErrInvalidToken: a malformed, wrongly signed, expired, not yet
//     valid or wrong-type token; ErrTokenRevoked: a revoked one
//     (RevokeToken, LogoutAll, a revoked refresh family);
//     ErrRefreshReused: a spent refresh token used again (its family is
//     revoked; it matches ErrTokenRevoked too); ErrNoSigningKey:
//     IssueToken or RefreshToken without a key.
//   - ErrDeviceChanged: a DeviceStore's RotateDevice lost its
//     compare-and-set (another request rotated first); the Manager treats
//     it as the grace case, an application never sees it.
//   - ErrUnavailable: a store could not be reached or its breaker is
//     open (the underlying error is wrapped too), or the context's
//     deadline passed while a store was being asked: that counts against
//     the store's breaker (a stopped Redis shows itself no other way to
//     requests with deadlines), and its context error is in the message,
//     not wrapped. A context cancelled by the caller is returned as it is.
//     Give the redis client ContextTimeoutEnabled: without it go-redis
//     waits out its ReadTimeout (and retries) whatever the deadline.
//   - ErrInvalid: a bad argument or option, named in the message.
//   - ErrClosed: after Close.
//
// Errors are wrapped with the operation and name the package once:
// "session: list sessions: store unavailable: redis list user sessions: …".
//
// A RedisStore built with a bad StoreOption returns that option's error
// from every method.
//
// # Guarantees
//
//   - After Login, Renew, Logout or LogoutAll returns nil, the sessions
//     they end are refused by every Manager on the same store.
//   - A session ID the request came with never becomes the logged-in
//     session's; a renewal ends the old ID before the new one exists, so
//     a failure half-way leaves neither, never both.
//   - Set and Delete of different keys, from concurrent requests, all
//     survive (per-field updates, a Lua script or one UPDATE each).
//   - A request on a non-public path reaches the handler only with a
//     live logged-in session (never an anonymous one): a store outage is
//     a 503 or a re-login, never a pass.
//   - An authenticated cookie request is one round trip to Redis; a
//     bearer request none while the revocation watch is established.
//   - Tokens: after LogoutAll or RevokeToken returns nil, the Manager that
//     made it refuses the tokens at once, and every other Manager on the
//     store as soon as its watch delivers the revocation; a Manager whose
//     watch is down asks the store and fails closed. A refresh token
//     works once; its reuse revokes the family.
//   - Throttling: instances sharing a store share the limits; concurrent
//     attempts never get more password checks than the limit; when no
//     store answers no password is checked.
//   - CSRF: an unsafe request passes only with a token of its own
//     session and an Origin (or Referer) of the site; a token made before
//     Login does not verify after it.
//   - Devices: a validator works once (plus a one-minute grace for
//     concurrent tabs); the store holds only its hash; a wrong validator
//     on a live selector revokes every device of the user.
package session
