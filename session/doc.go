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
// principal and no stored fields).
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
// (remember-me)
//
// # Keys
//
// (each part lists its Redis keys here)
//
//	<prefix>t:{r}:ver     hash: user ID → token version (kept for good)
//	<prefix>t:{r}:bumps   sorted set: user IDs whose version rose, by when it stops mattering
//	<prefix>t:{r}:denied  sorted set: denied jtis, by their token's expiry
//	<prefix>t:f:<family>  string: a refresh family's current jti ("!" once revoked), expiring with it
//	<prefix>t:revoked     Pub/Sub channel of revocations
//
// # Errors
//
// # Guarantees
package session
