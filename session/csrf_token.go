package session

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// A token is base64url(pad || pad XOR secret), with a fresh random pad per
// token: the same secret never shows the same bytes twice.
var csrfTokenLen = base64.RawURLEncoding.EncodedLen(2 * csrfSecretLen)

func csrfMask(secret []byte) string {
	b := make([]byte, 2*csrfSecretLen)
	_, _ = rand.Read(b[:csrfSecretLen]) // crypto/rand.Read never fails (Go 1.24+)
	subtle.XORBytes(b[csrfSecretLen:], b[:csrfSecretLen], secret)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfVerify reports whether tok unmasks to secret, in constant time for
// tokens of the right length. Anything else (too long, not base64url, a
// nil secret) is false, never a panic.
func csrfVerify(tok string, secret []byte) bool {
	if len(tok) != csrfTokenLen || len(secret) != csrfSecretLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 2*csrfSecretLen {
		return false
	}
	subtle.XORBytes(b[csrfSecretLen:], b[:csrfSecretLen], b[csrfSecretLen:])
	return subtle.ConstantTimeCompare(b[csrfSecretLen:], secret) == 1
}
