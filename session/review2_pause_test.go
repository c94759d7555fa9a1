package session_test

import (
	"context"
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

// TestReview2RedisPaused: Redis stopped with SIGSTOP (it accepts bytes and
// never answers) and requests that carry deadlines, on a client that
// honours them (ContextTimeoutEnabled). Each such request is the store's
// failure: the answer is 503, never the handler, and the breaker opens,
// so that later requests — even one without any deadline — are answered
// at once instead of hanging on the stopped server.
func TestReview2RedisPaused(t *testing.T) {
	srv := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	opened := make(chan struct{}, 10)
	policy := resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour,
		OnStateChange: func(_ string, _, to resilience.BreakerState) {
			if to == resilience.StateOpen {
				opened <- struct{}{}
			}
		}}
	m, _ := newManager(t, session.NewRedisStore(rdb), session.WithBreaker(policy))
	var reached atomic.Int64
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	c := login(t, m, "alice", nil)
	srv.Pause()
	defer srv.Resume()

	serve := func(ctx context.Context) int {
		r := httptest.NewRequest("GET", "/private", nil).WithContext(ctx)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		code := serve(ctx)
		cancel()
		if code != http.StatusServiceUnavailable {
			t.Fatalf("request %d with a deadline on a stopped Redis: %d, want 503", i, code)
		}
	}
	select {
	case <-opened:
	default:
		t.Fatal("the breaker did not open after 2 requests timed out on a stopped Redis")
	}
	if code := serve(context.Background()); code != http.StatusServiceUnavailable {
		t.Fatalf("a request with the breaker open: %d, want 503", code)
	}
	if reached.Load() != 0 {
		t.Fatal("the handler ran during the outage")
	}
}
