package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// users knows alice/right and counts Authenticate calls.
type users struct{ calls atomic.Int64 }

func (u *users) Authenticate(_ context.Context, username, password string) (*session.Principal, error) {
	u.calls.Add(1)
	if username == "alice" && password == "right" {
		return &session.Principal{UserID: "1", Username: "alice"}, nil
	}
	return nil, session.ErrInvalidCredentials
}

// throttleManager is a Manager on st whose logins run through the
// throttle; the tests' clock is the one given with WithClock, if any.
func throttleManager(t *testing.T, st session.Store, auth session.Authenticator, opts ...session.Option) *session.Manager {
	t.Helper()
	m, err := session.NewManager(st, auth, append([]session.Option{session.WithCookie("sid", false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// loginFrom runs a real Login of user from the client at ip.
func loginFrom(m *session.Manager, ip, user, password string) error {
	_, err := tryLogin(m, loginReq(ip), user, password)
	return err
}

// wantLocked checks err is a lockout ending at until.
func wantLocked(t *testing.T, err error, until time.Time) {
	t.Helper()
	var te *session.ThrottleError
	if !errors.Is(err, session.ErrThrottled) || !errors.As(err, &te) || te.Challenge {
		t.Fatalf("got %v, want ErrThrottled", err)
	}
	if !te.Until.Equal(until) {
		t.Fatalf("locked until %v, want %v", te.Until, until)
	}
}

// Three Managers on three clients of one Redis share one lockout: the
// failures made on each add up, and the lockout holds on all of them,
// even for the right password.
func TestLockoutSharedAcrossInstances(t *testing.T) {
	url, prefix := testserver.RedisURL(t), corePrefix()
	clock := newClock()
	auth := &users{}
	var ms []*session.Manager
	for range 3 {
		ms = append(ms, throttleManager(t, session.NewRedisStore(redisClient(t, url), session.WithKeyPrefix(prefix)), auth, session.WithLockout(5, time.Minute), clock.option()))
	}
	for i := range 5 {
		if err := loginFrom(ms[i%3], "192.0.2.1", "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	for _, m := range ms {
		wantLocked(t, loginFrom(m, "192.0.2.99", "alice", "right"), clock.now().Add(time.Minute))
	}
	if n := auth.calls.Load(); n != 5 {
		t.Fatalf("Authenticate ran %d times, want 5: a locked attempt reached it", n)
	}
	clock.add(time.Minute)
	if err := loginFrom(ms[2], "192.0.2.1", "alice", "right"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

// Each further lockout of a username doubles, up to 24 hours.
func TestLockoutGrows(t *testing.T) {
	clock := newClock()
	m := throttleManager(t, redisStore(t), &users{},
		session.WithLockout(3, time.Hour), clock.option())
	for i, d := range []time.Duration{1, 2, 4, 8, 16, 24, 24} {
		for j := range 3 {
			// a new address each time, so only the username's count matters
			if err := loginFrom(m, "198.51.100."+strconv.Itoa(i*3+j), "bob", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
				t.Fatalf("lockout %d, failure %d: %v", i+1, j+1, err)
			}
		}
		until := clock.now().Add(d * time.Hour)
		wantLocked(t, loginFrom(m, "203.0.113.1", "bob", "wrong"), until)
		clock.set(until)
	}
}

// After WithChallengeAfter failures a login needs the application's
// challenge; a refused one is not counted, and the hook runs at most once
// per attempt, only in that state.
func TestChallengeRequired(t *testing.T) {
	var hookCalls atomic.Int64
	passed := func(r *http.Request) bool { hookCalls.Add(1); return r.Header.Get("X-Captcha") == "ok" }
	m := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(6, time.Minute), session.WithChallenge(passed))
	for i := range 3 { // the default: half the lockout's failures
		if err := loginFrom(m, "192.0.2.1", "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if n := hookCalls.Load(); n != 0 {
		t.Fatalf("the challenge hook ran %d times before it was needed", n)
	}
	for range 5 {
		err := loginFrom(m, "192.0.2.1", "alice", "right")
		var te *session.ThrottleError
		if !errors.Is(err, session.ErrChallengeRequired) || !errors.As(err, &te) || !te.Challenge || errors.Is(err, session.ErrThrottled) {
			t.Fatalf("without the challenge: %v, want ErrChallengeRequired", err)
		}
	}
	if n := hookCalls.Load(); n != 5 {
		t.Fatalf("the challenge hook ran %d times for 5 attempts", n)
	}
	r := loginReq("192.0.2.1")
	r.Header.Set("X-Captcha", "ok")
	if _, err := tryLogin(m, r, "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("with the challenge passed: %v", err)
	}
	// Refused attempts did not count: two more challenged failures lock.
	for i := range 2 {
		r := loginReq("192.0.2.1")
		r.Header.Set("X-Captcha", "ok")
		if _, err := tryLogin(m, r, "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("challenged failure %d: %v", i+5, err)
		}
	}
	r = loginReq("192.0.2.1")
	r.Header.Set("X-Captcha", "ok")
	if _, err := tryLogin(m, r, "alice", "right"); !errors.Is(err, session.ErrThrottled) {
		t.Fatalf("after 6 failures: %v, want ErrThrottled", err)
	}
}

// Without WithChallenge there is no challenge step.
func TestNoChallengeWithoutHook(t *testing.T) {
	m := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(4, time.Minute))
	for i := range 3 {
		if err := loginFrom(m, "192.0.2.1", "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := loginFrom(m, "192.0.2.1", "alice", "right"); err != nil {
		t.Fatalf("the 4th attempt: %v", err)
	}
}

// A client is throttled across usernames, and a username across
// clients; the two counts are independent.
func TestClientAndUsernameThrottledIndependently(t *testing.T) {
	m := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(3, time.Minute), session.WithClientLockout(4, time.Minute))
	for i, u := range []string{"u1", "u2", "u3", "u4"} { // one failure each, from one address
		if err := loginFrom(m, "192.0.2.1", u, "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := loginFrom(m, "192.0.2.1", "alice", "right"); !errors.Is(err, session.ErrThrottled) {
		t.Fatalf("the address after 4 failures: %v, want ErrThrottled", err)
	}
	if err := loginFrom(m, "192.0.2.2", "u1", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("another address, u1: %v", err)
	}
	// A username's failures from many addresses lock it everywhere.
	for i, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		if err := loginFrom(m, ip, "ALICE", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := loginFrom(m, "198.51.100.3", "Alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("third failure: %v", err)
	}
	if err := loginFrom(m, "198.51.100.4", "alice", "right"); !errors.Is(err, session.ErrThrottled) {
		t.Fatalf("alice after 3 failures in any case: %v, want ErrThrottled", err)
	}
}

// A success forgets the username's failures (but not the client's).
func TestSuccessResetsUsername(t *testing.T) {
	m := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(3, time.Minute), session.WithClientLockout(100, time.Minute))
	for round := range 3 {
		for i := range 2 {
			if err := loginFrom(m, "192.0.2.1", "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
				t.Fatalf("round %d failure %d: %v", round, i+1, err)
			}
		}
		if err := loginFrom(m, "192.0.2.1", "alice", "right"); err != nil {
			t.Fatalf("round %d success: %v", round, err)
		}
	}
	// The client's failures were kept: an attacker cannot clear them by
	// logging in to an account of their own between guesses (the
	// success only takes back its own attempt).
	m2 := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(100, time.Minute), session.WithClientLockout(3, time.Minute))
	for _, u := range []string{"victim", "alice", "victim", "alice", "victim"} {
		pw := "wrong"
		if u == "alice" {
			pw = "right"
		}
		_ = loginFrom(m2, "192.0.2.1", u, pw)
	}
	if err := loginFrom(m2, "192.0.2.1", "victim", "guess"); !errors.Is(err, session.ErrThrottled) {
		t.Fatalf("after 3 failures from one address, with successes between them: %v, want ErrThrottled", err)
	}
}

// Successful logins do not count toward the client's lockout: 100 of
// them from one address (everyone behind one NAT) never lock it, and
// failures from it still do.
func TestSuccessesNeverLockClient(t *testing.T) {
	for name, store := range map[string]func() session.Store{
		"Memory": func() session.Store { return session.NewMemoryStore() },
		"Redis":  func() session.Store { return redisStore(t) },
	} {
		t.Run(name, func(t *testing.T) {
			m := throttleManager(t, store(), &users{}) // default: a client locks after 20
			for i := range 100 {
				if err := loginFrom(m, "192.0.2.1", "alice", "right"); err != nil {
					t.Fatalf("success %d from one address: %v", i+1, err)
				}
			}
			// 20 failures (on other usernames, so only the client's count
			// matters), with successes between them: the 20th locks.
			for i := range 20 {
				if err := loginFrom(m, "192.0.2.1", "user"+strconv.Itoa(i), "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", i+1, err)
				}
				if i < 19 {
					if err := loginFrom(m, "192.0.2.1", "alice", "right"); err != nil {
						t.Fatalf("success after failure %d: %v", i+1, err)
					}
				}
			}
			if err := loginFrom(m, "192.0.2.1", "alice", "right"); !errors.Is(err, session.ErrThrottled) {
				t.Fatalf("after 20 failures from one address: %v, want ErrThrottled", err)
			}
			if err := loginFrom(m, "192.0.2.2", "alice", "right"); err != nil {
				t.Fatalf("another address: %v", err)
			}
		})
	}
}

// Concurrent attempts cannot slip past the limit: the attempt is counted
// before the password is checked, in one step.
func TestConcurrentAttemptsHonourLimit(t *testing.T) {
	auth := &users{}
	m := throttleManager(t, redisStore(t), auth, session.WithLockout(5, time.Minute))
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { _ = loginFrom(m, "192.0.2.1", "alice", "wrong") })
	}
	wg.Wait()
	if n := auth.calls.Load(); n != 5 {
		t.Fatalf("Authenticate ran %d times for 30 concurrent attempts, want 5", n)
	}
}

// With the store down (and the fallback store too, when there is one) a
// login fails with ErrUnavailable and the password is never checked:
// throttling fails closed.
func TestThrottleFailsClosed(t *testing.T) {
	for _, withFallback := range []bool{false, true} {
		srv := testserver.StartRedis(t, nil)
		auth := &users{}
		var opts []session.Option
		var fb *testserver.Redis
		if withFallback {
			fb = testserver.StartRedis(t, nil)
			opts = append(opts, session.WithFallbackStore(session.NewRedisStore(redisClient(t, fb.URL))))
		}
		m := throttleManager(t, session.NewRedisStore(redisClient(t, srv.URL)), auth, opts...)
		if err := loginFrom(m, "192.0.2.1", "alice", "right"); err != nil {
			t.Fatal(err)
		}
		srv.Kill()
		if fb != nil {
			fb.Kill()
		}
		err := loginFrom(m, "192.0.2.1", "alice", "right")
		if !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("fallback %v, with Redis down: %v, want ErrUnavailable", withFallback, err)
		}
		if n := auth.calls.Load(); n != 1 {
			t.Fatalf("fallback %v: Authenticate ran with Redis down (%d calls)", withFallback, n)
		}
	}
}

func TestThrottleOptionsValidated(t *testing.T) {
	for name, opts := range map[string][]session.Option{
		"WithLockout(0)":            {session.WithLockout(0, time.Minute)},
		"WithLockout(base 0)":       {session.WithLockout(3, 0)},
		"WithLockout(base 25h)":     {session.WithLockout(3, 25*time.Hour)},
		"WithChallengeAfter(-1)":    {session.WithChallengeAfter(-1)},
		"WithChallengeAfter(limit)": {session.WithLockout(3, time.Minute), session.WithChallengeAfter(3)},
		"WithChallenge(nil)":        {session.WithChallenge(nil)},
		"WithClientKey(nil)":        {session.WithClientKey(nil)},
		"WithClientLockout(0)":      {session.WithClientLockout(0, time.Minute)},
		"WithLockoutWindow(0)":      {session.WithLockoutWindow(0)},
	} {
		if _, err := session.NewManager(session.NewMemoryStore(), &users{}, opts...); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestRemoteAddrClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:1234":             "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"not-an-address":             "not-an-address",
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "10.9.9.9")
		if got := session.RemoteAddrClientKey(r); got != want {
			t.Errorf("RemoteAddrClientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// WithClientKey replaces the address: requests the key tells apart are
// throttled apart.
func TestWithClientKey(t *testing.T) {
	m := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(50, time.Minute),
		session.WithClientLockout(2, time.Minute), session.WithClientKey(func(r *http.Request) string { return r.Header.Get("X-Real-Client") }))
	try := func(client string) error {
		r := loginReq("10.0.0.1") // the proxy
		r.Header.Set("X-Real-Client", client)
		_, err := tryLogin(m, r, "u", "wrong")
		return err
	}
	_, _ = try("a"), try("a")
	if err := try("a"); !errors.Is(err, session.ErrThrottled) {
		t.Fatalf("client a: %v, want ErrThrottled", err)
	}
	if err := try("b"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("client b behind the same proxy: %v", err)
	}
}

func TestThrottleMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	m := throttleManager(t, session.NewMemoryStore(), &users{}, session.WithLockout(2, time.Minute), session.WithMeterProvider(mp))
	for range 3 {
		_ = loginFrom(m, "192.0.2.1", "alice", "wrong")
	}
	// attempt 1 allowed; attempt 2 allowed and locked the username; 3 locked
	if got := collect(t, reader, "session.login.throttle", "outcome"); got["allowed"] != 2 || got["lockout"] != 1 || got["locked"] != 1 {
		t.Fatalf("session.login.throttle = %v, want allowed 2, lockout 1, locked 1", got)
	}
}

func TestCSRFMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	s := newCSRFSite(t, session.WithMeterProvider(mp))
	c := s.browser(t)
	s.post(t, c, "")
	s.post(t, c, "", "Origin", "https://evil.example")
	s.post(t, c, s.token(t, c)) // passes: not counted
	if got := collect(t, reader, "session.csrf.rejected", "reason"); got["token"] != 1 || got["origin"] != 1 || got["session"] != 0 {
		t.Fatalf("session.csrf.rejected = %v, want token 1, origin 1", got)
	}
}

// collect returns metric name's data points by the value of attribute key.
func collect(t *testing.T, reader *sdkmetric.ManualReader, name, key string) map[string]int64 {
	t.Helper()
	return otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric != name {
			return ""
		}
		return p.Attr(key)
	})
}
