package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
	"github.com/groundwork-go/groundwork/session"
)

// rememberFixture is a Manager with remember-me on a store, a fake clock
// and a user directory whose roles the test can change.
type rememberFixture struct {
	m     *session.Manager
	store session.Store
	clock *clock
	mu    sync.Mutex
	roles map[string][]string // userID -> roles; absent: the user is gone
}

func (f *rememberFixture) load(_ context.Context, userID string) (*session.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	roles, ok := f.roles[userID]
	if !ok {
		return nil, session.ErrNoSession
	}
	return &session.Principal{UserID: userID, Username: userID, Roles: roles}, nil
}

func (f *rememberFixture) setRoles(userID string, roles ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[userID] = roles
}

func newRememberFixture(t *testing.T, store session.Store, opts ...session.Option) *rememberFixture {
	t.Helper()
	f := &rememberFixture{store: store, clock: newClock(),
		roles: map[string][]string{"alice": {"user"}, "bob": {"user"}}}
	// Every known user's password is "pw".
	auth := session.AuthenticatorFunc(func(ctx context.Context, username, password string) (*session.Principal, error) {
		if password != "pw" {
			return nil, session.ErrInvalidCredentials
		}
		p, err := f.load(ctx, username)
		if err != nil {
			return nil, session.ErrInvalidCredentials
		}
		return p, nil
	})
	base := []session.Option{session.WithCookie("session", false), session.WithRememberMe(time.Hour, f.load), f.clock.option()}
	m, err := session.NewManager(store, auth, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(); _ = store.Close() })
	f.m = m
	return f
}

// remember logs userID in on a browser with User-Agent ua and returns
// the remember-me cookie Remember set.
func (f *rememberFixture) remember(t *testing.T, userID, ua string) *http.Cookie {
	t.Helper()
	r := loginReq("192.0.2.1")
	r.Header.Set("User-Agent", ua)
	w := httptest.NewRecorder()
	s, err := f.m.Login(w, r, userID, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Remember(w, r, s); err != nil {
		t.Fatal(err)
	}
	c := rememberCookieOf(t, w)
	if c == nil || c.MaxAge <= 0 {
		t.Fatalf("Remember set no persistent cookie: %v", w.Header())
	}
	return c
}

// resume presents cookie on a request with no session; it returns the
// session, the cookie the response sets (nil if none) and the error.
func (f *rememberFixture) resume(t *testing.T, c *http.Cookie) (*session.Session, *http.Cookie, error) {
	t.Helper()
	r := httptest.NewRequest("GET", "/dashboard", nil)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	w := httptest.NewRecorder()
	s, err := session.DevicesResume(f.m, w, r)
	return s, rememberCookieOf(t, w), err
}

func rememberCookieOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == "session-remember" || c.Name == "__Host-session-remember" {
			return c
		}
	}
	return nil
}

// rememberStores runs fn on each store: memory, real Redis, real
// PostgreSQL.
func rememberStores(t *testing.T, fn func(t *testing.T, store func() session.Store)) {
	t.Run("Memory", func(t *testing.T) { fn(t, func() session.Store { return session.NewMemoryStore() }) })
	t.Run("Redis", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: testserver.StartRedis(t, nil).Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		fn(t, func() session.Store { return session.NewRedisStore(rdb) })
	})
	t.Run("Postgres", func(t *testing.T) {
		url := sharedPostgres.Get(t)
		fn(t, func() session.Store { return newTestPostgresStoreOn(t, url) })
	})
}

// TestRememberResumeRotateTheft: a device resumes a session once the
// session is gone, with the principal loaded afresh; each use rotates the
// validator; the old cookie still works within the grace and, after it,
// is a theft signal that revokes every device of the user.
func TestRememberResumeRotateTheft(t *testing.T) {
	rememberStores(t, func(t *testing.T, store func() session.Store) {
		f := newRememberFixture(t, store())
		laptop := f.remember(t, "alice", "Firefox")
		phone := f.remember(t, "alice", "Safari")
		bobs := f.remember(t, "bob", "Chrome")
		if !laptop.HttpOnly || laptop.SameSite != http.SameSiteLaxMode || laptop.Path != "/" || laptop.Secure || laptop.MaxAge != 3600 {
			t.Fatalf("cookie flags: %+v", laptop)
		}

		f.setRoles("alice", "user", "admin") // changed since the login
		s, rotated, err := f.resume(t, laptop)
		if err != nil {
			t.Fatal(err)
		}
		if p := s.Principal(); p.UserID != "alice" || len(p.Roles) != 2 {
			t.Fatalf("resumed principal %+v, want alice with the fresh roles", p)
		}
		if rotated == nil || rotated.Value == laptop.Value || rotated.MaxAge != 3600 {
			t.Fatalf("no rotated cookie: %+v", rotated)
		}

		// Within the grace the previous cookie (a second tab) still works
		// and sets no cookie, so the browser keeps the rotated one.
		f.clock.add(session.DevicesGrace - time.Second)
		if _, c, err := f.resume(t, laptop); err != nil || c != nil {
			t.Fatalf("previous cookie within the grace: cookie %v, %v", c, err)
		}
		// After it, it is a theft signal: all alice's devices go.
		f.clock.add(2 * time.Second)
		if _, c, err := f.resume(t, laptop); !errors.Is(err, session.ErrNoSession) || c == nil || c.MaxAge >= 0 {
			t.Fatalf("previous cookie after the grace: cookie %v, %v; want ErrNoSession and the cookie cleared", c, err)
		}
		for name, c := range map[string]*http.Cookie{"rotated": rotated, "phone": phone} {
			if _, _, err := f.resume(t, c); !errors.Is(err, session.ErrNoSession) {
				t.Fatalf("alice's %s cookie after the theft signal: %v", name, err)
			}
		}
		if ds, err := f.m.Devices(t.Context(), "alice"); err != nil || len(ds) != 0 {
			t.Fatalf("alice's devices after the theft signal: %v %v", ds, err)
		}
		if _, _, err := f.resume(t, bobs); err != nil {
			t.Fatalf("bob's device after alice's theft signal: %v", err)
		}
	})
}

// TestRememberWrongValidatorRevokesAll: a live selector with a validator
// it never had revokes the user's devices at once.
func TestRememberWrongValidatorRevokesAll(t *testing.T) {
	rememberStores(t, func(t *testing.T, store func() session.Store) {
		f := newRememberFixture(t, store())
		a := f.remember(t, "alice", "Firefox")
		b := f.remember(t, "alice", "Safari")
		sel, _, _ := session.DevicesParseCookie(a.Value)
		forged := &http.Cookie{Name: a.Name, Value: sel + "." + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
		if _, _, err := f.resume(t, forged); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("forged validator: %v", err)
		}
		for _, c := range []*http.Cookie{a, b} {
			if _, _, err := f.resume(t, c); !errors.Is(err, session.ErrNoSession) {
				t.Fatalf("a device after the theft signal: %v", err)
			}
		}
	})
}

// TestRememberConcurrentTabs: a second request rotating the same device
// between the first's read and its rotation (forced with a store hook)
// gets a session without a theft signal, and without a cookie.
func TestRememberConcurrentTabs(t *testing.T) {
	hs := &hookStore{Store: session.NewMemoryStore()}
	f := newRememberFixture(t, hs)
	c := f.remember(t, "alice", "Firefox")
	var other *http.Cookie
	hs.afterGet = func() {
		hs.afterGet = nil
		var err error
		if _, other, err = f.resume(t, c); err != nil || other == nil {
			t.Errorf("the other tab: cookie %v, %v", other, err)
		}
	}
	s, mine, err := f.resume(t, c)
	if err != nil || s == nil || mine != nil {
		t.Fatalf("the tab that lost the rotation race: cookie %v, %v; want a session and no cookie", mine, err)
	}
	if _, _, err := f.resume(t, other); err != nil {
		t.Fatalf("the winner's cookie: %v", err)
	}
}

type hookStore struct {
	session.Store
	afterGet func()
}

func (h *hookStore) GetDevice(ctx context.Context, sel string, now time.Time) (*session.DeviceRecord, error) {
	d, err := h.Store.GetDevice(ctx, sel, now)
	if h.afterGet != nil {
		h.afterGet()
	}
	return d, err
}

// TestDevicesListForget: devices are listed per user with their labels
// and revoked one at a time, all at once (LogoutAll's hook), and by
// Logout's hook, which also clears the cookie.
func TestDevicesListForget(t *testing.T) {
	rememberStores(t, func(t *testing.T, store func() session.Store) {
		f := newRememberFixture(t, store())
		ctx := t.Context()
		laptop := f.remember(t, "alice", "Firefox\x00\x1b[31m on Linux")
		f.clock.add(time.Second)
		phone := f.remember(t, "alice", "")
		ds, err := f.m.Devices(ctx, "alice")
		if err != nil || len(ds) != 2 || ds[0].Label != "Firefox[31m on Linux" || ds[1].Label != "unknown browser" {
			t.Fatalf("alice's devices: %+v %v", ds, err)
		}
		// Bob cannot forget alice's device.
		if err := f.m.ForgetDevice(ctx, "bob", ds[0].Selector); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.resume(t, laptop); err != nil {
			t.Fatalf("laptop after bob's ForgetDevice: %v", err)
		}
		if err := f.m.ForgetDevice(ctx, "alice", ds[1].Selector); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.resume(t, phone); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("a forgotten device: %v", err)
		}
		if ds, _ := f.m.Devices(ctx, "alice"); len(ds) != 1 {
			t.Fatalf("after forgetting one, %d devices", len(ds))
		}

		// Logout forgets the current device and clears its cookie.
		c := f.remember(t, "alice", "Edge")
		r := httptest.NewRequest("POST", "/logout", nil)
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		w := httptest.NewRecorder()
		if err := session.DevicesForgetCurrent(f.m, w, r, "alice"); err != nil {
			t.Fatal(err)
		}
		if cl := rememberCookieOf(t, w); cl == nil || cl.MaxAge >= 0 {
			t.Fatalf("Logout did not clear the cookie: %v", cl)
		}
		if _, _, err := f.resume(t, c); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("the logged-out device: %v", err)
		}

		f.remember(t, "alice", "Opera")
		if err := session.DevicesForgetAll(f.m, ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if ds, _ := f.m.Devices(ctx, "alice"); len(ds) != 0 {
			t.Fatalf("after LogoutAll's hook, %d devices", len(ds))
		}
	})
}

// TestRememberExpiry: a device lives lifetime after its last use.
func TestRememberExpiry(t *testing.T) {
	rememberStores(t, func(t *testing.T, store func() session.Store) {
		f := newRememberFixture(t, store())
		c := f.remember(t, "alice", "Firefox")
		f.clock.add(time.Hour - time.Second)
		_, c, err := f.resume(t, c) // a use: the lifetime starts again
		if err != nil {
			t.Fatal(err)
		}
		f.clock.add(time.Hour - time.Second)
		if _, c, err = f.resume(t, c); err != nil {
			t.Fatalf("within the lifetime of the last use: %v", err)
		}
		f.clock.add(time.Hour)
		if _, cl, err := f.resume(t, c); !errors.Is(err, session.ErrNoSession) || cl == nil || cl.MaxAge >= 0 {
			t.Fatalf("an expired device: cookie %v, %v; want ErrNoSession and the cookie cleared", cl, err)
		}
	})
}

// TestRememberUserGone: a user that load no longer finds loses the
// device; a malformed cookie is cleared.
func TestRememberUserGone(t *testing.T) {
	f := newRememberFixture(t, session.NewMemoryStore())
	c := f.remember(t, "alice", "Firefox")
	f.mu.Lock()
	delete(f.roles, "alice")
	f.mu.Unlock()
	if _, _, err := f.resume(t, c); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("a deleted user's device: %v", err)
	}
	if ds, _ := f.m.Devices(t.Context(), "alice"); len(ds) != 0 {
		t.Fatalf("a deleted user keeps %d devices", len(ds))
	}
	_, cl, err := f.resume(t, &http.Cookie{Name: c.Name, Value: "garbage"})
	if !errors.Is(err, session.ErrNoSession) || cl == nil || cl.MaxAge >= 0 {
		t.Fatalf("a malformed cookie: %v %v", cl, err)
	}
}

// TestRememberSecureCookie: with a Secure session cookie the device
// cookie is Secure and __Host- prefixed.
func TestRememberSecureCookie(t *testing.T) {
	f := newRememberFixture(t, session.NewMemoryStore(), session.WithCookie("session", true))
	c := f.remember(t, "alice", "Firefox")
	if c.Name != "__Host-session-remember" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
		t.Fatalf("secure device cookie: %+v", c)
	}
	if _, _, err := f.resume(t, c); err != nil {
		t.Fatal(err)
	}
}

// TestRememberTelemetry counts remember-me events with the real SDK.
func TestRememberTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	f := newRememberFixture(t, session.NewMemoryStore(), session.WithMeterProvider(mp))
	c := f.remember(t, "alice", "Firefox")
	_, _, _ = f.resume(t, c)                                        // resumed
	_, _, _ = f.resume(t, c)                                        // grace
	_, _, _ = f.resume(t, &http.Cookie{Name: c.Name, Value: "bad"}) // malformed
	f.clock.add(2 * session.DevicesGrace)
	_, _, _ = f.resume(t, c) // theft
	_, _, _ = f.resume(t, c) // unknown: the device is gone
	got := collect(t, reader, "session.remember_me", "outcome")
	for _, o := range []string{"issued", "resumed", "grace", "malformed", "theft", "unknown"} {
		if got[o] != 1 {
			t.Errorf("outcome %s: %d, want 1 (all: %v)", o, got[o], got)
		}
	}
}

// FuzzRememberCookie: the parser never panics, and accepts only values it
// would write itself.
func FuzzRememberCookie(f *testing.F) {
	f.Add("0123abcdAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("0123abcdAAAAAAAAAAAAAAAAAAAAAB.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") // padding bits set
	f.Add("")
	f.Add(".")
	f.Add("0123ABCDAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("0123abcdAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, v string) {
		sel, val, ok := session.DevicesParseCookie(v)
		if !ok {
			if sel != "" || val != "" {
				t.Fatal("parts returned with !ok")
			}
			return
		}
		if sel+"."+val != v || len(sel) != 30 || len(val) != 43 {
			t.Fatalf("accepted %q as %q . %q", v, sel, val)
		}
	})
}

// TestRememberThroughBreaker: remember-me calls go through the primary
// store's circuit breaker: with Redis down a device cookie gets 503
// (never the handler, never a 401 that would make the browser drop it),
// and the failure opens the breaker that guards sessions too.
func TestRememberThroughBreaker(t *testing.T) {
	srv := testserver.StartRedis(t, nil)
	f := newRememberFixture(t, session.NewRedisStore(redisClient(t, srv.URL)),
		session.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	c := f.remember(t, "alice", "Firefox")
	srv.Kill()
	var reached atomic.Int64
	h := f.m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	r := httptest.NewRequest("GET", "/private", nil)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || reached.Load() != 0 {
		t.Fatalf("a device cookie with Redis down: %d %q, want 503", w.Code, w.Body)
	}
	_, err := f.m.Devices(context.Background(), "alice")
	if !errors.Is(err, session.ErrUnavailable) || !strings.Contains(err.Error(), "circuit breaker is open") {
		t.Fatalf("Devices after the failure: %v, want ErrUnavailable from the open breaker", err)
	}
}

// TestRememberGraceUseChangesNothing: a use of the previous validator
// within the grace (a second tab, or a thief) starts a session but
// rotates nothing and extends nothing — no cookie, the device's last use,
// expiry, hashes and grace end all as they were — and is counted, so the
// grace still ends a minute after the rotation and the old cookie is then
// a theft signal.
func TestRememberGraceUseChangesNothing(t *testing.T) {
	rememberStores(t, func(t *testing.T, store func() session.Store) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(context.Background())
		f := newRememberFixture(t, store(), session.WithMeterProvider(mp))
		old := f.remember(t, "alice", "Firefox")
		sel, _, _ := session.DevicesParseCookie(old.Value)
		f.clock.add(time.Second)
		if _, rotated, err := f.resume(t, old); err != nil || rotated == nil {
			t.Fatalf("first resume: cookie %v, %v", rotated, err)
		}
		rotatedAt := f.clock.now()
		snapshot := func() session.DeviceRecord {
			t.Helper()
			d, err := f.store.GetDevice(context.Background(), sel, f.clock.now())
			if err != nil {
				t.Fatal(err)
			}
			return *d
		}
		want := snapshot()
		for i := range 3 {
			f.clock.add(10 * time.Second)
			s, c, err := f.resume(t, old)
			if err != nil || s == nil || c != nil {
				t.Fatalf("grace use %d: session %v, cookie %v, %v; want a session and no cookie", i+1, s, c, err)
			}
			if got := snapshot(); !got.LastUsed.Equal(want.LastUsed) || !got.Expires.Equal(want.Expires) ||
				got.Hash != want.Hash || got.PrevHash != want.PrevHash || !got.PrevUntil.Equal(want.PrevUntil) {
				t.Fatalf("grace use %d changed the device:\n got %+v\nwant %+v", i+1, got, want)
			}
		}
		f.clock.set(rotatedAt.Add(session.DevicesGrace))
		if _, _, err := f.resume(t, old); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("the previous cookie when the grace ends (not extended by its uses): %v, want the theft signal", err)
		}
		got := collect(t, reader, "session.remember_me", "outcome")
		if got["grace"] != 3 || got["resumed"] != 1 || got["theft"] != 1 {
			t.Fatalf("remember-me outcomes %v, want 3 grace, 1 resumed, 1 theft", got)
		}
	})
}
