package session_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// Close while Redis is paused (SIGSTOP: the watch's subscription hangs)
// or killed (the watch reconnects): Close returns, twice, no goroutine
// outlives it, and every method answers ErrClosed.
func TestReview2CloseDuringOutage(t *testing.T) {
	for _, how := range []string{"paused", "killed"} {
		t.Run(how, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			srv := testserver.StartRedis(t, nil)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
			st := session.NewRedisStore(rdb)
			ev := newWatchEvents()
			subscribes := make(chan struct{}, 100)
			hooks := ev.hooks()
			hooks.BeforeSubscribe = func() { subscribes <- struct{}{} }
			m, err := session.NewManager(st, tokenAuth, session.WithSigningKey("k", edKey(t)), session.WithTokenTestHooks(hooks))
			if err != nil {
				t.Fatal(err)
			}
			ev.waitTrust(t, true)
			_, refresh := issue(t, m, alice)
			<-subscribes
			if how == "paused" {
				srv.Pause()
				defer srv.Resume()
			} else {
				srv.Kill()
				ev.waitTrust(t, false)
				<-subscribes // reconnecting
			}
			done := make(chan error, 1)
			go func() { done <- m.Close() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(deadline):
				t.Fatal("Manager.Close hung with Redis " + how)
			}
			if err := m.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatalf("second store Close: %v", err)
			}
			ctx := context.Background()
			if _, err := m.Login(httptest.NewRecorder(), loginReq("192.0.2.9"), "alice", "pw"); !errors.Is(err, session.ErrClosed) {
				t.Errorf("Login after Close: %v", err)
			}
			if _, err := m.LogoutAll(ctx, "u1"); !errors.Is(err, session.ErrClosed) {
				t.Errorf("LogoutAll after Close: %v", err)
			}
			if _, _, err := m.RefreshToken(ctx, refresh); !errors.Is(err, session.ErrClosed) {
				t.Errorf("RefreshToken after Close: %v", err)
			}
			if err := m.Logout(httptest.NewRecorder(), httptest.NewRequest("POST", "/logout", nil)); !errors.Is(err, session.ErrClosed) {
				t.Errorf("Logout after Close: %v", err)
			}
			if _, err := st.LoadSession(ctx, session.Ref{Shard: "00000000", Hash: "00"}, time.Now()); !errors.Is(err, session.ErrClosed) {
				t.Errorf("store LoadSession after Close: %v", err)
			}
			if how == "paused" {
				srv.Resume()
			}
			_ = rdb.Close()
			goleak.VerifyNone(t, leaks)
		})
	}
}
