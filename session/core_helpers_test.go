package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

var base = time.UnixMilli(1_700_000_000_000)

var errorsIs = errors.Is

// discard is a ResponseWriter that throws the answer away.
type discard struct{ h http.Header }

func newDiscard() *discard { return &discard{h: http.Header{}} }

func (d *discard) Header() http.Header { return d.h }
func (d *discard) Write(p []byte) (int, error) {
	return len(p), nil
}
func (d *discard) WriteHeader(int) {}

func newReq(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/private", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func redisURLForBench(b *testing.B) string { return testserver.RedisURL(b) }

// clock is the tests' fake clock, moved by hand; option installs it with
// the Manager's WithClock. It starts on a whole millisecond, as stores
// keep times in milliseconds.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Millisecond)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
func (c *clock) add(d time.Duration)    { c.set(c.now().Add(d)) }
func (c *clock) option() session.Option { return session.WithClock(c.now) }

// loginReq is a login form's POST from the client at ip.
func loginReq(ip string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.RemoteAddr = ip + ":40000"
	return r
}

// tryLogin runs m.Login on r and returns the response it wrote.
func tryLogin(m *session.Manager, r *http.Request, user, password string) (*httptest.ResponseRecorder, error) {
	w := httptest.NewRecorder()
	_, err := m.Login(w, r, user, password)
	return w, err
}

// redisClient is a client of the Redis at url that fails fast while the
// server is down (no retries), so tests see an outage as it happens.
func redisClient(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// redisStore is a RedisStore on the shared test server under a prefix no
// other store of the run uses.
func redisStore(t testing.TB) *session.RedisStore {
	t.Helper()
	return session.NewRedisStore(redisClient(t, testserver.RedisURL(t)), session.WithKeyPrefix(corePrefix()))
}
