package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// countHook counts the commands (and pipelines) a client sends.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestCookieRequestIsOneRoundTrip: an authenticated cookie request
// through Middleware costs one Redis command (the load script), once the
// script is cached.
func TestCookieRequestIsOneRoundTrip(t *testing.T) {
	rdb := redisClient(t, testserver.RedisURL(t))
	hook := &countHook{}
	rdb.AddHook(hook)
	m, _ := newManager(t, session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix())))
	h := whoami(m)
	c := login(t, m, "alice", nil)
	wantUser(t, h, c, "id-alice") // loads the script
	before := hook.n.Load()
	for range 10 {
		wantUser(t, h, c, "id-alice")
	}
	if got := hook.n.Load() - before; got != 10 {
		t.Fatalf("10 requests sent %d Redis commands, want 10", got)
	}
}

func BenchmarkMiddlewareCookie(b *testing.B) {
	opt, err := redis.ParseURL(redisURLForBench(b))
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	m, err := session.NewManager(session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix())), auth, session.WithCookie("sid", false))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	lw := httptest.NewRecorder()
	if _, err := m.Login(lw, newReq(nil), "alice", "pw"); err != nil {
		b.Fatal(err)
	}
	c := lw.Result().Cookies()[0]
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := newReq(c)
		w := newDiscard()
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}
