package session_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/groundwork-go/groundwork/session"
)

// BenchmarkVerifyToken compares VerifyToken (EdDSA; the principal's
// claims; revocation from the mirror, no round trip) with a bare
// golang-jwt v5 parse and verify of the same token, in the same run.
func BenchmarkVerifyToken(b *testing.B) {
	key := edKey(b)
	m := newTokenManager(b, session.NewMemoryStore(), session.WithSigningKey("k", key))
	access, _ := issue(b, m, alice)
	ctx := context.Background()
	b.Run("session.VerifyToken", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.VerifyToken(ctx, access); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jwt.Parse", func(b *testing.B) {
		pub := key.Public().(ed25519.PublicKey)
		parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired())
		for b.Loop() {
			if _, err := parser.Parse(access, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
