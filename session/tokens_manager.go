package session

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenState is a Manager's JWT keys and revocation mirror.
type tokenState struct {
	cfg     tokenConfig
	store   TokenStore
	keys    map[string]*tokenKey
	signing *tokenKey // nil: tokens are unavailable
	parser  *jwt.Parser
	mirror  *mirror
	now     func() time.Time
	logger  *slog.Logger
	hooks   tokenHooks
	tel     *tokenTelemetry

	cancel    context.CancelFunc
	watchDone chan struct{}
	subMu     sync.Mutex
	sub       RevocationSubscription // the live subscription, for Close
}

// revocationMargin is added to how long a revocation is remembered, for
// the time a token takes from reading the version to being signed and
// for clocks that differ between instances.
const revocationMargin = time.Minute

func (m *Manager) initTokens() error {
	c := m.cfg.tokens
	if c.access == 0 {
		c.access, c.refresh = defaultAccessLifetime, defaultRefreshLifetime
	}
	if !c.leewaySet {
		c.leeway = defaultTokenLeeway
	}
	t := &tokenState{
		cfg:    c,
		store:  m.store,
		keys:   map[string]*tokenKey{},
		mirror: newMirror(),
		now:    m.cfg.now,
		logger: m.cfg.logger,
		hooks:  c.hooks,
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.logger == nil {
		t.logger = slog.Default()
	}
	algs := map[string]bool{}
	for _, k := range c.keys {
		t.keys[k.kid] = k
		t.signing = k
		algs[k.alg] = true
	}
	valid := make([]string, 0, len(algs))
	for a := range algs {
		valid = append(valid, a)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(valid),
		jwt.WithLeeway(c.leeway),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	}
	if c.issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.issuer))
	}
	if c.audience != "" {
		opts = append(opts, jwt.WithAudience(c.audience))
	}
	t.parser = jwt.NewParser(opts...)
	t.tel = newTokenTelemetry(m.cfg.meter, t.mirror)
	m.tokens = t
	if t.signing == nil {
		return nil // no keys: no tokens, nothing to watch
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.watchDone = cancel, make(chan struct{})
	go t.watch(ctx)
	return nil
}

func (m *Manager) closeTokens() {
	t := m.tokens
	if t == nil {
		return
	}
	if t.cancel != nil {
		t.cancel()
		t.subMu.Lock()
		if t.sub != nil {
			_ = t.sub.Close() // unblocks a Next that ignores ctx
		}
		t.subMu.Unlock()
		<-t.watchDone
	}
	t.tel.close()
}

// bearerSession verifies an Authorization: Bearer token and returns a
// Session built from its claims: it has a principal and no stored
// fields.
func (m *Manager) bearerSession(r *http.Request, token string) (*Session, error) {
	p, err := m.VerifyToken(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return &Session{m: m, principal: p}, nil
}

// revokeUserTokens revokes every token of userID (LogoutAll): it raises
// the user's token version, so every token issued before carries an
// older one. This Manager's mirror learns it at once, the others through
// the store's revocation watch.
func (m *Manager) revokeUserTokens(ctx context.Context, userID string) error {
	t := m.tokens
	until := t.now().Add(t.cfg.access + 2*t.cfg.leeway + revocationMargin)
	var v int64
	err := m.tokensDo("revoke tokens", func(st TokenStore) (err error) {
		v, err = st.BumpTokenVersion(ctx, userID, until)
		return err
	})
	if err != nil {
		return err
	}
	t.mirror.apply(Revocation{UserID: userID, Version: v, Until: until})
	return nil
}

// RevokeToken revokes one access or refresh token (a single-device
// logout): its ID goes on the deny-list until the token expires. A token
// that has already expired needs no revocation and is no error; one that
// is not a valid token of this Manager is ErrInvalidToken.
func (m *Manager) RevokeToken(ctx context.Context, token string) error {
	if m.closed.isClosed() {
		return ErrClosed
	}
	t := m.tokens
	c, err := t.parse(token, "")
	if err != nil {
		if isExpired(err) {
			return nil
		}
		return err
	}
	until := c.ExpiresAt.Add(t.cfg.leeway + revocationMargin)
	if err := m.tokensDo("revoke token", func(st TokenStore) error { return st.DenyToken(ctx, c.ID, until) }); err != nil {
		return err
	}
	t.mirror.apply(Revocation{JTI: c.ID, Until: until})
	return nil
}

// tokensDo runs f on the primary store through its circuit breaker, as
// every store call of the sessions does: while the primary cannot be
// reached the breaker opens and the answer is a quick ErrUnavailable
// instead of a timeout per call. Tokens live in the primary only (there
// is no fallback tier for them). A store's "no" — a spent, revoked or
// unknown token — is an answer, not an outage: it is returned as it is
// and counts as a success for the breaker.
func (m *Manager) tokensDo(op string, f func(TokenStore) error) error {
	var answer error
	err := m.tier(tierPrimary).do(op, func(s Store) error {
		err := f(s)
		if errors.Is(err, ErrRefreshReused) || errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrTokenRevoked) {
			answer = err
			return nil
		}
		return err
	})
	if answer != nil {
		return answer
	}
	return err
}
