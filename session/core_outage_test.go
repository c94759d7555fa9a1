package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
	"github.com/groundwork-go/groundwork/session"
)

// TestLogoutAllAcrossInstances: three Managers share one redis-server;
// alice logs in on each (cookies) and gets tokens from each. LogoutAll on
// one ends everything everywhere: every Manager refuses every cookie and,
// once its revocation watch has applied the event, every access token;
// the refresh tokens are refused too. bob is untouched.
func TestLogoutAllAcrossInstances(t *testing.T) {
	rdb := redisClient(t, testserver.RedisURL(t))
	prefix := corePrefix()
	logoutAllAcross(t, func() session.Store { return session.NewRedisStore(rdb, session.WithKeyPrefix(prefix)) })
}

// TestLogoutAllOnCluster is the same on a 3-master Redis Cluster.
func TestLogoutAllOnCluster(t *testing.T) {
	rc := testserver.StartRedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	logoutAllAcross(t, func() session.Store { return session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix())) })
}

func logoutAllAcross(t *testing.T, newStore func() session.Store) {
	st := newStore()
	key := edKey(t)
	var ms []*session.Manager
	var evs []*watchEvents
	for range 3 {
		ev := newWatchEvents()
		m, _ := newManager(t, st, session.WithSigningKey("k", key), session.WithTokenTestHooks(ev.hooks()))
		ms, evs = append(ms, m), append(evs, ev)
	}
	for _, ev := range evs {
		ev.waitTrust(t, true)
	}
	ctx := context.Background()
	var cookies []*http.Cookie
	var access, refresh []string
	for _, m := range ms {
		cookies = append(cookies, login(t, m, "alice", nil), login(t, m, "alice", nil))
		s, err := m.Login(httptest.NewRecorder(), loginReq("192.0.2.1"), "alice", "pw")
		if err != nil {
			t.Fatal(err)
		}
		a, r, err := m.IssueToken(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		access, refresh = append(access, a), append(refresh, r)
	}
	bob := login(t, ms[0], "bob", nil)
	bs, err := ms[0].Login(httptest.NewRecorder(), loginReq("192.0.2.1"), "bob", "pw")
	if err != nil {
		t.Fatal(err)
	}
	bobAccess, _, err := ms[0].IssueToken(ctx, bs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cookies { // any instance accepts any instance's session and token
		wantUser(t, whoami(ms[(i+1)%3]), c, "id-alice")
		if _, err := ms[(i+2)%3].VerifyToken(ctx, access[i/2]); err != nil {
			t.Fatalf("token %d before LogoutAll: %v", i/2, err)
		}
	}
	n, err := ms[1].LogoutAll(ctx, "id-alice")
	if err != nil || n != 9 {
		t.Fatalf("LogoutAll = %d, %v; want 9 (2 cookie and 1 token session per instance)", n, err)
	}
	for i, m := range ms {
		evs[i].waitApplied(t, "id-alice")
		for _, c := range cookies {
			wantDenied(t, whoami(m), c)
		}
		for j, a := range access {
			if _, err := m.VerifyToken(ctx, a); !errors.Is(err, session.ErrTokenRevoked) {
				t.Fatalf("manager %d accepts access token %d after LogoutAll: %v", i, j, err)
			}
			r := httptest.NewRequest("GET", "/private", nil)
			r.Header.Set("Authorization", "Bearer "+a)
			w := httptest.NewRecorder()
			whoami(m).ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("manager %d let bearer token %d through after LogoutAll: %d %q", i, j, w.Code, w.Body)
			}
		}
		wantUser(t, whoami(m), bob, "id-bob")
		if _, err := m.VerifyToken(ctx, bobAccess); err != nil {
			t.Fatalf("manager %d: bob's token after alice's LogoutAll: %v", i, err)
		}
	}
	for i, r := range refresh {
		if _, _, err := ms[(i+1)%3].RefreshToken(ctx, r); !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("refresh token %d after LogoutAll: %v, want ErrTokenRevoked", i, err)
		}
	}
}

// TestRedisKilledMidRun: once Redis is gone, a request with a session
// cookie gets 503 (or a re-login), never the handler.
func TestRedisKilledMidRun(t *testing.T) {
	for _, relogin := range []bool{false, true} {
		srv := testserver.StartRedis(t, nil)
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { _ = rdb.Close() })
		opts := []session.Option{session.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour})}
		if relogin {
			opts = append(opts, session.WithReloginOnOutage())
		}
		m, _ := newManager(t, session.NewRedisStore(rdb), opts...)
		var reached atomic.Int64
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
		c := login(t, m, "alice", nil)
		if w := get(h, "/private", c, ""); w.Code != 200 || reached.Load() != 1 {
			t.Fatalf("before the outage: %d", w.Code)
		}
		srv.Kill()
		want := http.StatusServiceUnavailable
		if relogin {
			want = http.StatusUnauthorized
		}
		for i := range 5 { // before and after the breaker opens
			if w := get(h, "/private", c, ""); w.Code != want {
				t.Fatalf("relogin=%v, request %d during the outage: %d %q, want %d", relogin, i, w.Code, w.Body, want)
			}
		}
		if reached.Load() != 1 {
			t.Fatalf("relogin=%v: the handler ran during the outage", relogin)
		}
		w := httptest.NewRecorder()
		if _, err := m.Login(w, httptest.NewRequest("POST", "/login", nil), "alice", "pw"); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("login without a fallback during the outage: %v, want ErrUnavailable", err)
		}
	}
}

// TestFallbackStore: with the primary down, new logins go to the fallback
// store and keep working, throttled in the fallback; sessions of the
// primary are refused, not passed.
func TestFallbackStore(t *testing.T) {
	srv := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	fallback, err := session.NewPostgresStore(newTestPostgresPool(t, sharedPostgres.Get(t)))
	if err != nil {
		t.Fatal(err)
	}
	m, clk := newManager(t, session.NewRedisStore(rdb), session.WithFallbackStore(fallback),
		session.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}),
		session.WithLockout(3, time.Minute))
	h := whoami(m)
	before := login(t, m, "alice", nil)
	wantUser(t, h, before, "id-alice")
	srv.Kill()

	if w := get(h, "/private", before, ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("a primary session during the outage: %d %q, want 503", w.Code, w.Body)
	}
	during := login(t, m, "bob", before)
	if !strings.HasPrefix(during.Value, "f.") {
		t.Fatalf("a login during the outage got cookie %q, want the fallback tier's", during.Value)
	}
	for range 3 {
		wantUser(t, h, during, "id-bob")
	}
	// Throttling goes on in the fallback: alice's failures there lock
	// her out, with Redis gone.
	for i := range 3 {
		if _, err := tryLogin(m, loginReq("192.0.2.7"), "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("failure %d during the outage: %v", i+1, err)
		}
	}
	if _, err := tryLogin(m, loginReq("192.0.2.8"), "alice", "pw"); !errors.Is(err, session.ErrThrottled) {
		t.Fatalf("alice after 3 failures during the outage: %v, want ErrThrottled", err)
	}
	st, err := fallback.ThrottleAttempt(context.Background(), session.ThrottleKeyOfUser("alice"), clk.now(), session.ThrottlePolicy{Limit: 100, Window: time.Hour, Base: time.Minute, Max: time.Hour}, true)
	if err != nil || st.Lockouts != 1 {
		t.Fatalf("the fallback store's throttle state for alice: %+v, %v; want one lockout", st, err)
	}
	// The fallback session is a full session: fields, logout-all.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(during)
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		if err := s.Set(r.Context(), "k", "v"); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(httptest.NewRecorder(), r)
	n, err := m.LogoutAll(context.Background(), "id-bob")
	if n != 1 || !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("LogoutAll during the outage = %d, %v; want 1 (the fallback's) and ErrUnavailable (the primary's)", n, err)
	}
	wantDenied(t, h, during)
}

func TestListSessionsHidesValues(t *testing.T) {
	m, _ := newManager(t, session.NewMemoryStore())
	login(t, m, "alice", nil)
	login(t, m, "alice", nil)
	recs, err := m.ListSessions(context.Background(), "id-alice")
	if err != nil || len(recs) != 2 {
		t.Fatalf("ListSessions = %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Values != nil || r.UserID != "id-alice" {
			t.Fatalf("listed record %+v: want the user and no values", r)
		}
	}
}
