package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// A session ID is 32 bytes from crypto/rand. The cookie carries
// "<shard>.<base64url(secret)>" (with "f." in front for a session kept in
// the fallback store); a store only ever sees the Ref: the shard and the
// hex SHA-256 of the secret, so a dump of the store holds no live ID.

const (
	secretLen    = 32
	secretB64Len = 43 // base64.RawURLEncoding of 32 bytes
	shardLen     = 8
	hashLen      = 64
	fallbackMark = "f."
)

// tier says which store holds a session.
type tier uint8

const (
	tierPrimary tier = iota
	tierFallback
)

// sessionID is a parsed cookie value.
type sessionID struct {
	tier   tier
	shard  string
	secret []byte
}

// ref is what the store knows of id.
func (id sessionID) ref() Ref {
	sum := sha256.Sum256(id.secret)
	return Ref{Shard: id.shard, Hash: hex.EncodeToString(sum[:])}
}

// cookieValue is the value of id's cookie.
func (id sessionID) cookieValue() string {
	v := id.shard + "." + base64.RawURLEncoding.EncodeToString(id.secret)
	if id.tier == tierFallback {
		v = fallbackMark + v
	}
	return v
}

// newSessionID returns a fresh ID in shard.
func newSessionID(t tier, shard string) sessionID {
	secret := make([]byte, secretLen)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (it crashes the program instead)
	return sessionID{tier: t, shard: shard, secret: secret}
}

// shardOf is the shard of userID's sessions: the first 8 hex characters
// of SHA-256(userID). A user's sessions and index share it, so Redis keeps
// them in one slot and one script can end them all.
func shardOf(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(sum[:4])
}

// randomShard is the shard of an anonymous session.
func randomShard() string {
	b := make([]byte, shardLen/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parseSessionID parses a cookie value strictly: the exact length, a
// lowercase-hex shard, the canonical base64url of 32 bytes. Anything else
// is ErrNoSession, so that a forged or mangled value never reaches a store.
func parseSessionID(v string) (sessionID, error) {
	id := sessionID{tier: tierPrimary}
	if strings.HasPrefix(v, fallbackMark) {
		id.tier, v = tierFallback, v[len(fallbackMark):]
	}
	if len(v) != shardLen+1+secretB64Len || v[shardLen] != '.' || !isLowerHex(v[:shardLen]) {
		return sessionID{}, ErrNoSession
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(v[shardLen+1:])
	if err != nil || len(secret) != secretLen {
		return sessionID{}, ErrNoSession
	}
	id.shard, id.secret = v[:shardLen], secret
	return id, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validRef reports whether ref could have come from a parsed ID: stores
// check it so that no other string reaches a key or a query.
func validRef(ref Ref) bool {
	return len(ref.Shard) == shardLen && isLowerHex(ref.Shard) && len(ref.Hash) == hashLen && isLowerHex(ref.Hash)
}
