package session

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"
	"time"
)

// tokenConfig is the JWT part of a Manager's configuration.
type tokenConfig struct {
	keys      []*tokenKey // in the order given; the last one signs
	access    time.Duration
	refresh   time.Duration
	leeway    time.Duration
	leewaySet bool
	hooks     tokenHooks // tests only (export_tokens_test.go)
	issuer    string
	audience  string
}

const (
	defaultAccessLifetime  = 5 * time.Minute
	defaultRefreshLifetime = 24 * time.Hour
	defaultTokenLeeway     = 30 * time.Second
	minHMACKeyLen          = 32
	maxKIDLen              = 64
)

// WithSigningKey adds a key for JWTs, named kid: an ed25519 key (EdDSA)
// or an ECDSA P-256 key (ES256); any other key is an error naming kid.
// Repeat it to rotate keys: the last one given signs new tokens, and all
// of them verify, so tokens signed with an old key keep working until
// they expire. Each key verifies only tokens whose kid names it, and
// only with its own algorithm. Without any key, IssueToken fails with
// ErrNoSigningKey.
func WithSigningKey(kid string, key crypto.Signer) Option {
	return func(c *config) error {
		if err := checkKID(c, kid); err != nil {
			return err
		}
		if key == nil {
			return fmt.Errorf("%w: WithSigningKey(%q): nil key", ErrInvalid, kid)
		}
		k := &tokenKey{kid: kid, signer: key}
		switch pub := key.Public().(type) {
		case ed25519.PublicKey:
			k.alg, k.verify = "EdDSA", pub
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return fmt.Errorf("%w: WithSigningKey(%q): ECDSA key on %s; only P-256 (ES256) is supported", ErrInvalid, kid, pub.Curve.Params().Name)
			}
			k.alg, k.verify = "ES256", pub
		default:
			return fmt.Errorf("%w: WithSigningKey(%q): unsupported key type %T; use ed25519 or ECDSA P-256", ErrInvalid, kid, pub)
		}
		c.tokens.keys = append(c.tokens.keys, k)
		return nil
	}
}

// WithHMACKey adds a shared secret for HS256 JWTs, named kid; it must be
// at least 32 bytes. Like WithSigningKey it is repeatable, the last key
// given signs, and it verifies only HS256 tokens whose kid names it.
// Everyone who can verify such a token can also make one: prefer
// WithSigningKey when other services verify the tokens.
func WithHMACKey(kid string, secret []byte) Option {
	return func(c *config) error {
		if err := checkKID(c, kid); err != nil {
			return err
		}
		if len(secret) < minHMACKeyLen {
			return fmt.Errorf("%w: WithHMACKey(%q): secret of %d bytes; at least %d needed", ErrInvalid, kid, len(secret), minHMACKeyLen)
		}
		s := append([]byte(nil), secret...)
		c.tokens.keys = append(c.tokens.keys, &tokenKey{kid: kid, alg: "HS256", hmac: s, verify: s})
		return nil
	}
}

func checkKID(c *config, kid string) error {
	if kid == "" || len(kid) > maxKIDLen {
		return fmt.Errorf("%w: key id %q: must be 1 to %d bytes", ErrInvalid, kid, maxKIDLen)
	}
	for _, k := range c.tokens.keys {
		if k.kid == kid {
			return fmt.Errorf("%w: key id %q given twice", ErrInvalid, kid)
		}
	}
	return nil
}

// WithTokenLifetimes overrides the default lifetimes of access tokens
// (5 minutes) and refresh tokens (24 hours). A revoked access token can
// be used no longer than it lives, so keep it short.
func WithTokenLifetimes(access, refresh time.Duration) Option {
	return func(c *config) error {
		if access <= 0 || refresh < access {
			return fmt.Errorf("%w: WithTokenLifetimes(%v, %v): need 0 < access <= refresh", ErrInvalid, access, refresh)
		}
		c.tokens.access, c.tokens.refresh = access, refresh
		return nil
	}
}

// WithTokenLeeway overrides the default clock skew (30 seconds) allowed
// when checking a token's exp, nbf and iat.
func WithTokenLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > time.Hour {
			return fmt.Errorf("%w: WithTokenLeeway(%v): must be between 0 and 1h", ErrInvalid, d)
		}
		c.tokens.leeway, c.tokens.leewaySet = d, true
		return nil
	}
}

// WithTokenIssuer sets the iss claim of issued tokens, and the aud claim
// when audience is not empty; VerifyToken then requires both. By default
// tokens carry neither.
func WithTokenIssuer(issuer, audience string) Option {
	return func(c *config) error {
		if issuer == "" && audience != "" {
			return fmt.Errorf("%w: WithTokenIssuer: audience %q without an issuer", ErrInvalid, audience)
		}
		c.tokens.issuer, c.tokens.audience = issuer, audience
		return nil
	}
}
