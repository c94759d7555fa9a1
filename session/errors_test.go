package session_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
	"github.com/groundwork-go/groundwork/session"
)

// sessionName matches the package's name in an error text.
var sessionName = regexp.MustCompile(`\bsession: `)

// TestErrorTextNamesPackageOnce: the errors of bad calls and of an outage
// read "session: <what>: <why>", never "session: login: session: store
// unavailable: session: redis …", and errors.Is still sees the sentinel.
func TestErrorTextNamesPackageOnce(t *testing.T) {
	ctx := context.Background()
	type check struct {
		what string
		err  error
		is   error
	}
	var checks []check
	add := func(what string, is, err error) { checks = append(checks, check{what, err, is}) }

	_, err := session.NewManager(nil, auth)
	add("NewManager(nil)", session.ErrInvalid, err)
	_, err = session.NewManager(session.NewMemoryStore(), auth, session.WithTimeouts(-time.Second, time.Hour))
	add("NewManager bad option", session.ErrInvalid, err)
	failing := session.AuthenticatorFunc(func(context.Context, string, string) (*session.Principal, error) {
		return nil, session.ErrClosed
	})
	m, err := session.NewManager(session.NewMemoryStore(), failing, session.WithCookie("sid", false))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(httptest.NewRecorder(), loginReq("192.0.2.1"), "alice", "pw")
	add("login, authenticator failed", session.ErrClosed, err)
	_ = m.Close()
	_, err = m.Devices(ctx, "u")
	add("devices after Close", session.ErrClosed, err)

	srv := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	down, _ := newManager(t, session.NewRedisStore(rdb), session.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour}))
	srv.Kill()
	_, err = down.Login(httptest.NewRecorder(), loginReq("192.0.2.1"), "alice", "pw")
	add("login, store down", session.ErrUnavailable, err)
	_, err = down.Devices(ctx, "u")
	add("devices, store down", session.ErrUnavailable, err)
	_, err = down.ListSessions(ctx, "u")
	add("list sessions, breaker open", session.ErrUnavailable, err)
	_, err = down.LogoutAll(ctx, "u")
	add("logout all, breaker open", session.ErrUnavailable, err)

	for _, ch := range checks {
		if !errors.Is(ch.err, ch.is) {
			t.Errorf("%s: %v, want %v", ch.what, ch.err, ch.is)
		}
		if ch.err == nil {
			continue
		}
		// A joined error (LogoutAll's) is one error a line.
		for _, s := range strings.Split(ch.err.Error(), "\n") {
			if got := sessionName.FindAllStringIndex(s, -1); len(got) != 1 || got[0][0] != 0 {
				t.Errorf("%s: %q names the package %d times, want once, at the start", ch.what, s, len(got))
			}
		}
		t.Logf("%s: %v", ch.what, ch.err)
	}
}
