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
// (throttle)
//
// # CSRF
//
// (csrf)
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
// login, never access. The previous validator stays valid for one minute
// after a rotation, so two tabs resuming at once both get a session; a
// thief who uses a copied cookie within that minute of the user is not
// detected.
//
// # Keys
//
// (each part lists its Redis keys here)
//
//	<prefix>d:{<shard>}:d:<selector>  a remember-me device (hash; TTL = its expiry)
//	<prefix>d:{<shard>}:u:<userID>    the user's device index (set of selectors, same slot)
//
// A selector begins with its user's shard, so a device, its index and the
// user's sessions share one Cluster slot.
//
// # PostgreSQL
//
// NewPostgresStore creates, if missing, session_schema (the SHA-256 of
// the DDL the tables were made with) and each part's tables:
// session_devices (by selector; indexed by user and creation, and by
// expiry). A start that finds its own DDL's hash in session_schema runs no
// DDL and takes no table lock; otherwise the DDL runs in one transaction
// under an advisory lock (instances starting together take turns) with a
// 10-second lock timeout, the whole bounded to 30 seconds. Expired devices
// are deleted when their user's devices are listed. As the fallback tier
// (WithFallbackStore) it keeps the same state as Redis: remember-me
// devices resume sessions from it while Redis is down.
//
// # Errors
//
// # Guarantees
package session
