package session_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/groundwork-go/groundwork/session"
)

// forge signs claims with method and key under kid, as an attacker or a
// misbehaving issuer would.
func forge(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": "u1", "jti": "j1", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix(), "ver": 0, "typ": "access"}
}

func TestVerifyTokenRejects(t *testing.T) {
	ed := edKey(t)
	ec := ecKey(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	m := newTokenManager(t, session.NewMemoryStore(),
		session.WithSigningKey("ed", ed), session.WithSigningKey("ec", ec), session.WithHMACKey("hs", secret))
	now := time.Now()
	ctx := context.Background()

	// The forged token with the right key must verify, or the cases below
	// would prove nothing.
	if _, err := m.VerifyToken(ctx, forge(t, jwt.SigningMethodEdDSA, ed, "ed", goodClaims(now))); err != nil {
		t.Fatalf("a well-formed token was refused: %v", err)
	}
	access, refresh := issue(t, m, alice)
	tampered := func() string {
		parts := strings.Split(access, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = []byte(strings.Replace(string(payload), `"admin"`, `"owner"`, 1))
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}()
	none := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "ed", goodClaims(now))
	pub := []byte(ed.Public().(ed25519.PublicKey))
	past, future := goodClaims(now), goodClaims(now)
	past["iat"], past["nbf"], past["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
	future["iat"], future["nbf"] = now.Unix(), now.Add(10*time.Minute).Unix()
	noExp := goodClaims(now)
	delete(noExp, "exp")

	for name, tok := range map[string]string{
		"alg none":                      none,
		"alg none without kid":          forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", goodClaims(now)),
		"HS256 signed with public key":  forge(t, jwt.SigningMethodHS256, pub, "ed", goodClaims(now)),
		"HS256 key used as EdDSA kid":   forge(t, jwt.SigningMethodHS256, secret, "ed", goodClaims(now)),
		"expired":                       forge(t, jwt.SigningMethodEdDSA, ed, "ed", past),
		"not yet valid":                 forge(t, jwt.SigningMethodEdDSA, ed, "ed", future),
		"no exp":                        forge(t, jwt.SigningMethodEdDSA, ed, "ed", noExp),
		"unknown kid":                   forge(t, jwt.SigningMethodEdDSA, ed, "other", goodClaims(now)),
		"no kid":                        forge(t, jwt.SigningMethodEdDSA, ed, "", goodClaims(now)),
		"signed by another ed25519 key": forge(t, jwt.SigningMethodEdDSA, edKey(t), "ed", goodClaims(now)),
		"ES256 under the EdDSA kid":     forge(t, jwt.SigningMethodES256, ec, "ed", goodClaims(now)),
		"EdDSA under the ES256 kid":     forge(t, jwt.SigningMethodEdDSA, ed, "ec", goodClaims(now)),
		"tampered payload":              tampered,
		"refresh token as access":       refresh,
		"no type":                       forge(t, jwt.SigningMethodEdDSA, ed, "ed", jwt.MapClaims{"sub": "u1", "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}),
		"empty":                         "",
		"garbage":                       "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			p, err := m.VerifyToken(ctx, tok)
			if !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("VerifyToken = %v, %v; want ErrInvalidToken", p, err)
			}
			if tok == refresh {
				return
			}
			if _, _, err := m.RefreshToken(ctx, tok); err == nil {
				t.Fatal("RefreshToken accepted it")
			}
		})
	}
}

func TestSigningKeyOptions(t *testing.T) {
	for name, opt := range map[string]session.Option{
		"short HMAC":    session.WithHMACKey("h", []byte("short")),
		"nil key":       session.WithSigningKey("k", nil),
		"empty kid":     session.WithSigningKey("", edKey(t)),
		"bad lifetimes": session.WithTokenLifetimes(time.Hour, time.Minute),
	} {
		if _, err := session.NewManager(session.NewMemoryStore(), noAuth, opt); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("%s: NewManager = %v; want ErrInvalid", name, err)
		}
	}
	_, err := session.NewManager(session.NewMemoryStore(), noAuth, session.WithSigningKey("k", edKey(t)), session.WithSigningKey("k", edKey(t)))
	if err == nil || !strings.Contains(err.Error(), `"k"`) {
		t.Errorf("duplicate kid: %v", err)
	}
	// A key of another type is refused, naming its kid.
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, k := range []crypto.Signer{rsaKey, p384} {
		_, err := session.NewManager(session.NewMemoryStore(), noAuth, session.WithSigningKey("wrong-type", k))
		if !errors.Is(err, session.ErrInvalid) || !strings.Contains(err.Error(), `"wrong-type"`) {
			t.Errorf("%T: NewManager = %v; want ErrInvalid naming the kid", k, err)
		}
	}
	// No key: tokens are unavailable, and say how to fix it.
	m := newTokenManager(t, session.NewMemoryStore())
	if _, _, err := m.IssueToken(context.Background(), loggedIn(t, m, alice)); !errors.Is(err, session.ErrNoSigningKey) {
		t.Errorf("IssueToken without a key = %v", err)
	}
}

func TestIssueVerifyAllAlgorithms(t *testing.T) {
	for name, opt := range map[string]session.Option{
		"EdDSA":        session.WithSigningKey("k", edKey(t)),
		"ES256":        session.WithSigningKey("k", ecKey(t)),
		"ES256 signer": session.WithSigningKey("k", signerOnly{ecKey(t)}),
		"HS256":        session.WithHMACKey("k", []byte("0123456789abcdef0123456789abcdef")),
	} {
		t.Run(name, func(t *testing.T) {
			m := newTokenManager(t, session.NewMemoryStore(), opt)
			access, _ := issue(t, m, alice)
			p, err := m.VerifyToken(context.Background(), access)
			if err != nil {
				t.Fatal(err)
			}
			if p.UserID != "u1" || p.Username != "alice" || p.Roles[0] != "admin" || p.Permissions[0] != "users:read" || p.Attrs["tenant"] != "t1" {
				t.Fatalf("principal %+v", p)
			}
		})
	}
}
