package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// sessionCase is one library's authenticated request: a handler behind
// the library's middleware, and a request carrying a live session.
type sessionCase struct {
	handler http.Handler
	request func() *http.Request
}

// withCookie makes GET / requests carrying c.
func withCookie(c *http.Cookie) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		return r
	}
}

// okHandler reads one session value, as a page that greets its user does.
func okHandler(get func(r *http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if get(r) == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
}

func scsCase(b *testing.B, addr string) sessionCase {
	pool := &redis.Pool{MaxIdle: 64, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
	b.Cleanup(func() { _ = pool.Close() })
	sm := scs.New()
	sm.Store = redisstore.New(pool)
	// Log in once: a request that puts the user in the session, whose
	// cookie every measured request then carries.
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "u1")
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	cookie := rec.Result().Cookies()[0]
	return sessionCase{
		handler: sm.LoadAndSave(okHandler(func(r *http.Request) string { return sm.GetString(r.Context(), "user") })),
		request: withCookie(cookie),
	}
}

func groundworkCase(b *testing.B, url string) sessionCase {
	opts, err := goredis.ParseURL(url)
	must(b, err)
	opts.PoolSize = 64
	rdb := goredis.NewClient(opts)
	b.Cleanup(func() { _ = rdb.Close() })
	auth := session.AuthenticatorFunc(func(_ context.Context, u, _ string) (*session.Principal, error) {
		return &session.Principal{UserID: "u1", Username: u}, nil
	})
	m, err := session.NewManager(session.NewRedisStore(rdb), auth, session.WithCookie("session", false))
	must(b, err)
	b.Cleanup(func() { _ = m.Close() })
	rec := httptest.NewRecorder()
	_, err = m.Login(rec, httptest.NewRequest("POST", "/login", nil), "alice", "pw")
	must(b, err)
	cookie := rec.Result().Cookies()[0]
	return sessionCase{
		handler: m.Middleware(okHandler(func(r *http.Request) string {
			s, _ := session.FromContext(r.Context())
			return s.Principal().UserID
		})),
		request: withCookie(cookie),
	}
}

// bareGetCase is the floor of a cookie session: middleware that reads
// the cookie and GETs its key with go-redis, one round trip and nothing
// else (no expiry check, no sliding, no principal).
func bareGetCase(b *testing.B, url string) sessionCase {
	opts, err := goredis.ParseURL(url)
	must(b, err)
	opts.PoolSize = 64
	rdb := goredis.NewClient(opts)
	b.Cleanup(func() { _ = rdb.Close() })
	must(b, rdb.Set(context.Background(), "bare:s1", "u1", 0).Err())
	type key struct{}
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := r.Cookie("session")
			if err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			user, err := rdb.Get(r.Context(), "bare:"+c.Value).Result()
			if err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, user)))
		})
	}
	return sessionCase{
		handler: mw(okHandler(func(r *http.Request) string { s, _ := r.Context().Value(key{}).(string); return s })),
		request: withCookie(&http.Cookie{Name: "session", Value: "s1"}),
	}
}

// BenchmarkSessionRequest: one op is one authenticated GET through the
// library's middleware, against one redis-server on loopback, beside
// bare-GET (a middleware doing one go-redis GET of the cookie's key: the
// floor of any cookie session) and a bare redigo GET (the round trip
// alone). serial: one goroutine; parallel: 8 goroutines.
func BenchmarkSessionRequest(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	cases := map[string]sessionCase{
		"scs-redisstore": scsCase(b, r.Addr),
		"groundwork":     groundworkCase(b, r.URL),
		"bare-GET":       bareGetCase(b, r.URL),
	}
	for _, name := range []string{"scs-redisstore", "groundwork", "bare-GET"} {
		c := cases[name]
		serve := func() {
			rec := httptest.NewRecorder()
			c.handler.ServeHTTP(rec, c.request())
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: status %d", name, rec.Code)
			}
		}
		b.Run(name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // 8 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serve()
				}
			})
		})
	}
	b.Run("redigo-GET/serial", func(b *testing.B) {
		conn, err := redis.Dial("tcp", r.Addr)
		must(b, err)
		defer conn.Close()
		_, err = conn.Do("SET", "k", "u1")
		must(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := redis.String(conn.Do("GET", "k")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkJWTVerify: one op verifies one EdDSA access token with five
// claims: golang-jwt v5's parse and verify alone, and the session
// Manager's VerifyToken (which also checks revocations, in memory).
func BenchmarkJWTVerify(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(b, err)
	now := time.Now()
	bare, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"sub": "u1", "name": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j1",
	}).SignedString(priv)
	must(b, err)
	b.Run("golang-jwt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, err := jwt.Parse(bare, func(*jwt.Token) (any, error) { return pub, nil },
				jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired())
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("groundwork", func(b *testing.B) {
		auth := session.AuthenticatorFunc(func(_ context.Context, u, _ string) (*session.Principal, error) {
			return &session.Principal{UserID: "u1", Username: u}, nil
		})
		m, err := session.NewManager(session.NewMemoryStore(), auth, session.WithSigningKey("k1", priv), session.WithCookie("session", false))
		must(b, err)
		defer m.Close()
		rec := httptest.NewRecorder()
		s, err := m.Login(rec, httptest.NewRequest("POST", "/login", nil), "alice", "pw")
		must(b, err)
		access, _, err := m.IssueToken(context.Background(), s)
		must(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.VerifyToken(context.Background(), access); err != nil {
				b.Fatal(err)
			}
		}
	})
}
