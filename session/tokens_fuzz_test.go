package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/groundwork-go/groundwork/session"
)

// FuzzVerifyToken: no input panics, and nothing but a token this Manager
// issued verifies.
func FuzzVerifyToken(f *testing.F) {
	key := edKey(f)
	m := newTokenManager(f, session.NewMemoryStore(), session.WithSigningKey("k", key))
	valid, refresh := issue(f, m, alice)
	f.Add(valid)
	f.Add(refresh)
	f.Add(valid[:len(valid)-2] + "AA")
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Add(forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k", goodClaims(time.Now())))
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := m.VerifyToken(context.Background(), tok)
		if err == nil && tok != valid {
			// Only a re-encoding of the issued token could verify, and
			// strict decoding allows none.
			t.Fatalf("VerifyToken accepted %q: %+v", tok, p)
		}
		if err != nil && !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
