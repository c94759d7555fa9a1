package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/groundwork-go/groundwork/session"
)

// A user store commonly finds "alice" under " Alice", "alice\t" or the
// full-width "ａｌｉｃｅ" (trimmed, case-folded, NFKC-normalized, as PRECIS
// usernames are). Each spelling must count against the same lockout, or a
// guesser spreading attempts over addresses gets a fresh per-user limit
// for every spelling.
func TestReviewThrottleUsernameSpellingsShareLockout(t *testing.T) {
	normalizing := session.AuthenticatorFunc(func(_ context.Context, u, p string) (*session.Principal, error) {
		u = cases.Fold().String(norm.NFKC.String(strings.TrimSpace(u)))
		if u == "alice" && p == "pw" {
			return &session.Principal{UserID: "id-alice", Username: u}, nil
		}
		return nil, session.ErrInvalidCredentials
	})
	stores(t, func(t *testing.T, st session.Store) {
		m, err := session.NewManager(st, normalizing, session.WithCookie("sid", false),
			session.WithLockout(3, time.Hour), session.WithClientLockout(1000, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		attempt := func(i int, user, pw string) error {
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = fmt.Sprintf("198.51.100.%d:1234", i) // a different client each time
			_, err := m.Login(httptest.NewRecorder(), r, user, pw)
			return err
		}
		for i, u := range []string{"alice ", "\tALICE", "ａｌｉｃｅ"} {
			if err := attempt(i, u, "guess"); !errors.Is(err, session.ErrInvalidCredentials) {
				t.Fatalf("guess %d as %q: %v, want ErrInvalidCredentials", i, u, err)
			}
		}
		// Three failures for alice: she is locked, however spelt.
		for i, u := range []string{"alice", " alice", "Ａlice"} {
			if err := attempt(10+i, u, "pw"); !errors.Is(err, session.ErrThrottled) {
				t.Errorf("login as %q after 3 failures under other spellings: %v, want ErrThrottled", u, err)
			}
		}
	})
}
