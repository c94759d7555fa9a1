package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenClaims is what a token carries: the registered claims (sub is the
// user ID, jti the token's ID), the principal, the user's token version
// when it was issued, and for a refresh token its type and family.
type tokenClaims struct {
	jwt.RegisteredClaims
	Name  string            `json:"name,omitempty"`
	Roles []string          `json:"roles,omitempty"`
	Perms []string          `json:"perms,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Ver   int64             `json:"ver"`
	Typ   string            `json:"typ"`
	Fam   string            `json:"fam,omitempty"`
}

const (
	typAccess  = "access"
	typRefresh = "refresh"
	maxIDLen   = 64 // jti and fam: ours are 26 characters
)

func (c *tokenClaims) principal() *Principal {
	return &Principal{
		UserID:      c.Subject,
		Username:    c.Name,
		Roles:       slices.Clone(c.Roles),
		Permissions: slices.Clone(c.Perms),
		Attrs:       maps.Clone(c.Attrs),
	}
}

// IssueToken returns a new access token and refresh token for the user
// of s, which must be a logged-in session (a cookie's, from Login or the
// Middleware): a Session the Middleware built from a bearer token is
// ErrInvalid, so that an access token cannot be turned into a refresh
// family. It reads the user's token version from the primary store and
// starts a refresh family there, through the primary's circuit breaker:
// tokens live in the primary only, so while it is down IssueToken (and
// RefreshToken, RevokeToken) fail with ErrUnavailable even with a
// fallback store.
func (m *Manager) IssueToken(ctx context.Context, s *Session) (access, refresh string, err error) {
	if m.closed.isClosed() {
		return "", "", ErrClosed
	}
	if s == nil || s.Principal() == nil || s.Principal().UserID == "" {
		return "", "", fmt.Errorf("%w: IssueToken needs a logged-in session", ErrNoSession)
	}
	if s.rec == nil {
		// A bearer token's Session: issuing from it would turn any access
		// token (short-lived, perhaps stolen) into a fresh refresh family.
		return "", "", fmt.Errorf("%w: IssueToken: a token pair is issued for a logged-in session, not from a token (this session came from a bearer token)", ErrInvalid)
	}
	t := m.tokens
	if t.signing == nil {
		return "", "", ErrNoSigningKey
	}
	p := s.Principal()
	var ver int64
	err = m.tokensDo("issue token", func(st TokenStore) (err error) { ver, err = st.TokenVersion(ctx, p.UserID); return err })
	if err != nil {
		return "", "", err
	}
	family := rand.Text()
	access, refresh, refreshJTI, until, err := t.sign(p, ver, family)
	if err != nil {
		return "", "", err
	}
	if err := m.tokensDo("issue token", func(st TokenStore) error { return st.StartFamily(ctx, family, refreshJTI, until) }); err != nil {
		return "", "", err
	}
	t.tel.issued.add(1)
	return access, refresh, nil
}

// RefreshToken trades a refresh token for a new access token and a new
// refresh token. Each refresh token works once: using one a second time
// (a sign that it was stolen) revokes its whole family, so that neither
// the thief's nor the user's later refresh tokens work
// (ErrRefreshReused). A refresh token issued before its user's LogoutAll,
// or revoked with RevokeToken, is ErrTokenRevoked. It costs two store
// round trips.
func (m *Manager) RefreshToken(ctx context.Context, refresh string) (access, newRefresh string, err error) {
	if m.closed.isClosed() {
		return "", "", ErrClosed
	}
	t := m.tokens
	if t.signing == nil {
		return "", "", ErrNoSigningKey
	}
	c, err := t.parse(refresh, typRefresh)
	if err != nil {
		t.tel.refreshed(err)
		return "", "", err
	}
	var ver int64
	var denied bool
	err = m.tokensDo("refresh token", func(st TokenStore) (err error) { ver, denied, err = st.CheckToken(ctx, c.Subject, c.ID); return err })
	if err != nil {
		return "", "", err
	}
	if denied || c.Ver < ver {
		t.tel.refreshed(ErrTokenRevoked)
		return "", "", ErrTokenRevoked
	}
	access, newRefresh, next, until, err := t.sign(c.principal(), ver, c.Fam)
	if err != nil {
		return "", "", err
	}
	if err := m.tokensDo("refresh token", func(st TokenStore) error { return st.SpendRefresh(ctx, c.Fam, c.ID, next, until) }); err != nil {
		if errors.Is(err, ErrRefreshReused) {
			t.logger.Warn("session: a spent refresh token was used again; its family is revoked", "user", c.Subject)
			err = fmt.Errorf("%w: %w", ErrTokenRevoked, ErrRefreshReused)
		} else if !errors.Is(err, ErrInvalidToken) {
			return "", "", err
		}
		t.tel.refreshed(err)
		return "", "", err
	}
	t.tel.refreshed(nil)
	return access, newRefresh, nil
}

// VerifyToken checks an access token and returns its principal. It
// checks the signature with the key the token's kid names, and only with
// that key's algorithm; the token's exp, nbf and iat (with the leeway);
// and that it is not revoked. Revocations come from the Manager's mirror
// of the store, so VerifyToken makes no round trip — except while the
// store's revocation watch is down, when it asks the store, and answers
// ErrUnavailable if the store does not answer: a token that might be
// revoked is never accepted.
func (m *Manager) VerifyToken(ctx context.Context, access string) (*Principal, error) {
	if m.closed.isClosed() {
		return nil, ErrClosed
	}
	t := m.tokens
	c, err := t.parse(access, typAccess)
	if err != nil {
		t.tel.verifyInvalid.add(1)
		return nil, err
	}
	if t.mirror.revoked(c.Subject, c.Ver, c.ID) {
		t.tel.verifyRevoked.add(1)
		return nil, ErrTokenRevoked
	}
	if !t.mirror.trusted.Load() {
		var ver int64
		var denied bool
		err := m.tokensDo("verify token", func(st TokenStore) (err error) { ver, denied, err = st.CheckToken(ctx, c.Subject, c.ID); return err })
		if err != nil {
			t.tel.verifyUnavailable.add(1)
			return nil, err
		}
		if denied || c.Ver < ver {
			t.tel.verifyRevoked.add(1)
			return nil, ErrTokenRevoked
		}
		t.tel.verifyStore.add(1)
		return c.principal(), nil
	}
	t.tel.verifyOK.add(1)
	return c.principal(), nil
}

// sign makes an access and a refresh token for p with version ver in
// family, and returns the refresh token's ID and expiry.
func (t *tokenState) sign(p *Principal, ver int64, family string) (access, refresh, refreshJTI string, until time.Time, err error) {
	now := t.now()
	claims := func(typ, jti string, life time.Duration) *tokenClaims {
		c := &tokenClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Subject:   p.UserID,
				ID:        jti,
				IssuedAt:  jwt.NewNumericDate(now),
				NotBefore: jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(life)),
				Issuer:    t.cfg.issuer,
			},
			Name: p.Username, Roles: p.Roles, Perms: p.Permissions, Attrs: p.Attrs,
			Ver: ver, Typ: typ,
		}
		if t.cfg.audience != "" {
			c.Audience = jwt.ClaimStrings{t.cfg.audience}
		}
		if typ == typRefresh {
			c.Fam = family
		}
		return c
	}
	k := t.signing
	method, key := k.method()
	one := func(c *tokenClaims) (string, error) {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = k.kid
		s, err := tok.SignedString(key)
		if err != nil {
			return "", wrapOp(fmt.Sprintf("sign token with key %q", k.kid), err)
		}
		return s, nil
	}
	rc := claims(typRefresh, rand.Text(), t.cfg.refresh)
	if access, err = one(claims(typAccess, rand.Text(), t.cfg.access)); err != nil {
		return
	}
	if refresh, err = one(rc); err != nil {
		return
	}
	return access, refresh, rc.ID, rc.ExpiresAt.Time, nil
}

// parse verifies token's signature and time claims and, unless typ is
// "", that it is a token of type typ. Any failure is ErrInvalidToken.
func (t *tokenState) parse(token, typ string) (*tokenClaims, error) {
	if len(t.keys) == 0 {
		return nil, fmt.Errorf("%w: no key configured to verify it", ErrInvalidToken)
	}
	c := &tokenClaims{}
	if _, err := t.parser.ParseWithClaims(token, c, t.keyFor); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	switch {
	case typ != "" && c.Typ != typ:
		return nil, fmt.Errorf("%w: not a %s token", ErrInvalidToken, typ)
	case c.Typ != typAccess && c.Typ != typRefresh:
		return nil, fmt.Errorf("%w: unknown token type", ErrInvalidToken)
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	case c.ID == "" || len(c.ID) > maxIDLen:
		return nil, fmt.Errorf("%w: missing or overlong jti", ErrInvalidToken)
	case c.Typ == typRefresh && (c.Fam == "" || len(c.Fam) > maxIDLen):
		return nil, fmt.Errorf("%w: refresh token without a family", ErrInvalidToken)
	}
	return c, nil
}

// keyFor returns the verification key of the key the token's kid names,
// provided the token's alg is that key's algorithm: a token can neither
// pick a key it does not name nor use a named key with another algorithm
// (an HS256 token "signed" with an EdDSA public key is refused).
func (t *tokenState) keyFor(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	k := t.keys[kid]
	if k == nil {
		return nil, errors.New("unknown key id")
	}
	if tok.Method.Alg() != k.alg {
		return nil, fmt.Errorf("key %q is for %s only", k.kid, k.alg)
	}
	return k.verify, nil
}

// isExpired reports whether a parse failed only because the token expired.
func isExpired(err error) bool {
	return errors.Is(err, jwt.ErrTokenExpired)
}
