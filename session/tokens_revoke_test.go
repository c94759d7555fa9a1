package session_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

func TestKeyRotation(t *testing.T) {
	st := session.NewMemoryStore()
	oldKey, newKey := edKey(t), ecKey(t)
	before := newTokenManager(t, st, session.WithSigningKey("2024", oldKey))
	after := newTokenManager(t, st, session.WithSigningKey("2024", oldKey), session.WithSigningKey("2025", newKey))
	ctx := context.Background()
	oldTok, _ := issue(t, before, alice)
	if _, err := after.VerifyToken(ctx, oldTok); err != nil {
		t.Fatalf("a token of the old key no longer verifies: %v", err)
	}
	newTok, _ := issue(t, after, alice)
	tok, _, err := jwt.NewParser().ParseUnverified(newTok, jwt.MapClaims{})
	if err != nil || tok.Header["kid"] != "2025" || tok.Method.Alg() != "ES256" {
		t.Fatalf("new token: kid %v alg %v (%v); want the last key", tok.Header["kid"], tok.Method.Alg(), err)
	}
	if _, err := before.VerifyToken(ctx, newTok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a Manager without the new key accepted its token: %v", err)
	}
}

// tokenStores runs f on each store kind, against real servers.
func tokenStores(t *testing.T, f func(t *testing.T, st session.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, session.NewMemoryStore()) })
	t.Run("redis", func(t *testing.T) {
		f(t, session.NewRedisStore(redisClient(t, testserver.StartRedis(t, nil).URL)))
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := session.NewPostgresStore(newTestPostgresPool(t, sharedPostgres.Get(t)))
		if err != nil {
			t.Fatal(err)
		}
		f(t, st)
	})
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	tokenStores(t, func(t *testing.T, st session.Store) {
		m := newTokenManager(t, st, session.WithSigningKey("k", edKey(t)))
		ctx := context.Background()
		_, r1 := issue(t, m, alice)
		a2, r2, err := m.RefreshToken(ctx, r1)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := m.VerifyToken(ctx, a2); err != nil || p.Username != "alice" {
			t.Fatalf("refreshed access token: %v %v", p, err)
		}
		// r1 is spent: using it again (a thief, or the user after the
		// thief) revokes the family, r2 included.
		if _, _, err := m.RefreshToken(ctx, r1); !errors.Is(err, session.ErrRefreshReused) || !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("re-used refresh token: %v", err)
		}
		if _, _, err := m.RefreshToken(ctx, r2); !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("the family's later refresh token still works: %v", err)
		}
		// Another family is untouched.
		_, other := issue(t, m, alice)
		if _, _, err := m.RefreshToken(ctx, other); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRevokeTokenAndUser(t *testing.T) {
	tokenStores(t, func(t *testing.T, st session.Store) {
		m := newTokenManager(t, st, session.WithSigningKey("k", edKey(t)))
		ctx := context.Background()
		a1, r1 := issue(t, m, alice)
		a2, _ := issue(t, m, alice)
		if err := m.RevokeToken(ctx, a1); err != nil {
			t.Fatal(err)
		}
		if _, err := m.VerifyToken(ctx, a1); !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("a revoked token verifies: %v", err)
		}
		if _, err := m.VerifyToken(ctx, a2); err != nil {
			t.Fatalf("another token of the user was revoked too: %v", err)
		}
		if err := session.RevokeUserTokens(ctx, m, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.VerifyToken(ctx, a2); !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("a token from before LogoutAll verifies: %v", err)
		}
		if _, _, err := m.RefreshToken(ctx, r1); !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("a refresh token from before LogoutAll works: %v", err)
		}
		a3, _ := issue(t, m, alice)
		if _, err := m.VerifyToken(ctx, a3); err != nil {
			t.Fatalf("a token issued after LogoutAll: %v", err)
		}
		// A bearer request carries a Session built from the claims.
		s, err := session.BearerSession(m, httptestRequest(ctx), a3)
		if err != nil || s.Principal().Username != "alice" {
			t.Fatalf("bearerSession: %v", err)
		}
	})
}

// TestLogoutAllSeenByEveryManager: a revocation made through one Manager
// reaches the mirrors of the others through the store's watch, and none
// of them accepts the token afterwards.
func TestLogoutAllSeenByEveryManager(t *testing.T) {
	for _, kind := range []string{"redis", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var st session.Store
			if kind == "redis" {
				st = session.NewRedisStore(redisClient(t, testserver.StartRedis(t, nil).URL))
			} else {
				var err error
				if st, err = session.NewPostgresStore(newTestPostgresPool(t, sharedPostgres.Get(t))); err != nil {
					t.Fatal(err)
				}
			}
			key := edKey(t)
			var ms []*session.Manager
			var evs []*watchEvents
			for range 3 {
				ev := newWatchEvents()
				ms = append(ms, newTokenManager(t, st, session.WithSigningKey("k", key), session.WithTokenTestHooks(ev.hooks())))
				evs = append(evs, ev)
			}
			for _, ev := range evs {
				ev.waitTrust(t, true)
			}
			ctx := context.Background()
			access, _ := issue(t, ms[0], alice)
			for i, m := range ms {
				if _, err := m.VerifyToken(ctx, access); err != nil {
					t.Fatalf("manager %d: %v", i, err)
				}
			}
			if err := session.RevokeUserTokens(ctx, ms[1], "u1"); err != nil {
				t.Fatal(err)
			}
			for i, m := range ms {
				evs[i].waitApplied(t, "u1")
				if _, err := m.VerifyToken(ctx, access); !errors.Is(err, session.ErrTokenRevoked) {
					t.Fatalf("manager %d accepts a token revoked by LogoutAll: %v", i, err)
				}
			}
		})
	}
}

// TestRedisDownFailsClosed: while the watch is down VerifyToken asks the
// store, and with Redis gone it refuses rather than trust a mirror that
// may have missed a revocation; once Redis is back it verifies again.
func TestRedisDownFailsClosed(t *testing.T) {
	srv := testserver.StartRedis(t, nil)
	st := session.NewRedisStore(redisClient(t, srv.URL))
	ev := newWatchEvents()
	m := newTokenManager(t, st, session.WithSigningKey("k", edKey(t)), session.WithTokenTestHooks(ev.hooks()))
	ev.waitTrust(t, true)
	ctx := context.Background()
	access, _ := issue(t, m, alice)
	if _, err := m.VerifyToken(ctx, access); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	ev.waitTrust(t, false)
	if _, err := m.VerifyToken(ctx, access); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("VerifyToken with Redis down = %v; want ErrUnavailable", err)
	}
	srv.Restart(t)
	ev.waitTrust(t, true)
	if _, err := m.VerifyToken(ctx, access); err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
}

// TestRevocationWhileSubscriptionDown: a revocation made while a
// Manager's subscription was broken (so it never hears the message) is
// honoured once it resubscribes, because it reloads a snapshot before it
// trusts its mirror again. The second test puts the revocation between
// the subscription and the snapshot.
func TestRevocationWhileSubscriptionDown(t *testing.T) {
	for _, at := range []string{"before subscribe", "between subscribe and snapshot"} {
		t.Run(at, func(t *testing.T) {
			srv := testserver.StartRedis(t, nil)
			rdb := redisClient(t, srv.URL)
			st := session.NewRedisStore(rdb)
			key := edKey(t)
			other := newTokenManager(t, st, session.WithSigningKey("k", key))
			ctx := context.Background()
			var calls atomic.Int32
			revoke := func() {
				if calls.Add(1) == 2 { // the resubscription, not the first
					if err := session.RevokeUserTokens(ctx, other, "u1"); err != nil {
						t.Error(err)
					}
				}
			}
			ev := newWatchEvents()
			hooks := ev.hooks()
			if at == "before subscribe" {
				hooks.BeforeSubscribe = revoke
			} else {
				hooks.AfterSubscribe = revoke
			}
			m := newTokenManager(t, st, session.WithSigningKey("k", key), session.WithTokenTestHooks(hooks))
			ev.waitTrust(t, true)
			access, _ := issue(t, m, alice)
			if _, err := m.VerifyToken(ctx, access); err != nil {
				t.Fatal(err)
			}
			// Break every subscription; the server stays up.
			if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
			ev.waitTrust(t, false)
			ev.waitTrust(t, true)
			if calls.Load() < 2 {
				t.Fatal("the hook did not run on resubscription")
			}
			if _, err := m.VerifyToken(ctx, access); !errors.Is(err, session.ErrTokenRevoked) {
				t.Fatalf("a token revoked while the subscription was down verifies: %v", err)
			}
		})
	}
}
