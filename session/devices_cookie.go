package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// A remember-me cookie is "<selector>.<validator>". The selector is the
// user's shard (8 hex digits, so that Redis keeps a user's devices and
// their index in one slot) followed by 16 random bytes; the validator is
// 32 random bytes. Both random parts are unpadded base64url, decoded
// strictly, so every cookie has exactly one spelling.
const (
	selectorRandBytes  = 16
	validatorBytes     = 32
	selectorLen        = shardLen + (selectorRandBytes*8+5)/6 // 8 + 22
	validatorLen       = (validatorBytes*8 + 5) / 6           // 43
	rememberCookieSize = selectorLen + 1 + validatorLen
)

var b64 = base64.RawURLEncoding.Strict()

// newDeviceSecret returns a fresh selector for userID and a fresh
// validator.
func newDeviceSecret(userID string) (selector, validator string) {
	var s [selectorRandBytes]byte
	var v [validatorBytes]byte
	// crypto/rand.Read never fails (it crashes the program rather than
	// return weak bytes).
	_, _ = rand.Read(s[:])
	_, _ = rand.Read(v[:])
	return shardOf(userID) + b64.EncodeToString(s[:]), b64.EncodeToString(v[:])
}

// newValidator returns a fresh validator.
func newValidator() string {
	var v [validatorBytes]byte
	_, _ = rand.Read(v[:])
	return b64.EncodeToString(v[:])
}

// parseRememberCookie splits a cookie value into selector and validator,
// refusing anything that is not exactly what newDeviceSecret makes.
func parseRememberCookie(v string) (selector, validator string, ok bool) {
	if len(v) != rememberCookieSize || v[selectorLen] != '.' {
		return "", "", false
	}
	selector, validator = v[:selectorLen], v[selectorLen+1:]
	if !validSelector(selector) {
		return "", "", false
	}
	if raw, err := b64.DecodeString(validator); err != nil || len(raw) != validatorBytes {
		return "", "", false
	}
	return selector, validator, true
}

// validSelector reports whether s is a selector newDeviceSecret could
// have made.
func validSelector(s string) bool {
	if len(s) != selectorLen {
		return false
	}
	if !isLowerHex(s[:shardLen]) {
		return false
	}
	raw, err := b64.DecodeString(s[shardLen:])
	return err == nil && len(raw) == selectorRandBytes
}

// hashValidator returns the hex SHA-256 a store keeps of a validator.
func hashValidator(validator string) string {
	sum := sha256.Sum256([]byte(validator))
	return hex.EncodeToString(sum[:])
}

// selectorShard returns the shard part of a valid selector.
func selectorShard(selector string) string { return selector[:shardLen] }

// rememberCookieValue joins a selector and a validator.
func rememberCookieValue(selector, validator string) string {
	var b strings.Builder
	b.Grow(rememberCookieSize)
	b.WriteString(selector)
	b.WriteByte('.')
	b.WriteString(validator)
	return b.String()
}
