package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
	"github.com/groundwork-go/groundwork/session"
)

// tokenCallCounter is a Store that counts the TokenStore calls the
// Manager makes (the revocation watch's are not counted).
type tokenCallCounter struct {
	session.Store
	calls atomic.Int64
}

func (c *tokenCallCounter) TokenVersion(ctx context.Context, userID string) (int64, error) {
	c.calls.Add(1)
	return c.Store.TokenVersion(ctx, userID)
}

func (c *tokenCallCounter) StartFamily(ctx context.Context, family, jti string, until time.Time) error {
	c.calls.Add(1)
	return c.Store.StartFamily(ctx, family, jti, until)
}

func (c *tokenCallCounter) CheckToken(ctx context.Context, userID, jti string) (int64, bool, error) {
	c.calls.Add(1)
	return c.Store.CheckToken(ctx, userID, jti)
}

func (c *tokenCallCounter) SpendRefresh(ctx context.Context, family, jti, next string, until time.Time) error {
	c.calls.Add(1)
	return c.Store.SpendRefresh(ctx, family, jti, next, until)
}

func (c *tokenCallCounter) DenyToken(ctx context.Context, jti string, until time.Time) error {
	c.calls.Add(1)
	return c.Store.DenyToken(ctx, jti, until)
}

func (c *tokenCallCounter) BumpTokenVersion(ctx context.Context, userID string, until time.Time) (int64, error) {
	c.calls.Add(1)
	return c.Store.BumpTokenVersion(ctx, userID, until)
}

// TestTokensThroughBreaker: with Redis killed, IssueToken, RefreshToken,
// RevokeToken and VerifyToken (its store check while the watch is down)
// fail with ErrUnavailable through the primary's circuit breaker, which
// opens: afterwards they answer without calling the store at all.
func TestTokensThroughBreaker(t *testing.T) {
	srv := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	st := &tokenCallCounter{Store: session.NewRedisStore(rdb)}
	ev := newWatchEvents()
	m := newTokenManager(t, st, session.WithSigningKey("k", edKey(t)), session.WithTokenTestHooks(ev.hooks()),
		session.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour}))
	ev.waitTrust(t, true)
	ctx := context.Background()
	s := loggedIn(t, m, alice)
	access, refresh, err := m.IssueToken(ctx, s)
	if err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	ev.waitTrust(t, false)
	before := st.calls.Load()
	calls := []struct {
		name string
		call func() error
	}{
		{"IssueToken", func() error { _, _, err := m.IssueToken(ctx, s); return err }},
		{"RefreshToken", func() error { _, _, err := m.RefreshToken(ctx, refresh); return err }},
		{"RevokeToken", func() error { return m.RevokeToken(ctx, access) }},
		{"VerifyToken", func() error { _, err := m.VerifyToken(ctx, access); return err }},
	}
	for round := range 2 { // the first two calls open the breaker
		for _, c := range calls {
			if err := c.call(); !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("round %d, %s with Redis down: %v, want ErrUnavailable", round, c.name, err)
			}
		}
	}
	if n := st.calls.Load() - before; n != 2 {
		t.Fatalf("%d token store calls with Redis down, want 2: the breaker should have opened after 2 failures", n)
	}
}

// TestIssueTokenRefusesBearerSession: a Session the Middleware built from
// a bearer token cannot be turned into a new token pair.
func TestIssueTokenRefusesBearerSession(t *testing.T) {
	m := newTokenManager(t, session.NewMemoryStore(), session.WithSigningKey("k", edKey(t)), session.WithCookie("sid", false))
	access, _ := issue(t, m, alice)
	var got error
	reached := false
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		s, _ := session.FromContext(r.Context())
		_, _, got = m.IssueToken(r.Context(), s)
	}))
	r := httptest.NewRequest("GET", "/api/token", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !reached {
		t.Fatal("the bearer request did not reach the handler")
	}
	if !errors.Is(got, session.ErrInvalid) {
		t.Fatalf("IssueToken from a bearer token's session: %v, want ErrInvalid", got)
	}
	// A logged-in session still gets its pair.
	issue(t, m, alice)
}
