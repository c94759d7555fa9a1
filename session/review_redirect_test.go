package session_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// The Middleware's redirect to the login page carries the page asked for
// in "next", which a login handler sends the browser back to. A request
// for "//evil.example/x" (a link anyone can send) must not become
// next=//evil.example/x: http.Redirect and browsers read that as another
// host, an open redirect right after login.
func TestReviewLoginRedirectNextStaysOnSite(t *testing.T) {
	stores(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.WithLoginURL("/signin"))
		h := whoami(m)
		for _, p := range []string{"//evil.example/x", "///evil.example/x?a=1", "/private?x=1"} {
			w := get(h, p, nil, "text/html")
			if w.Code != http.StatusSeeOther {
				t.Fatalf("GET %s = %d, want 303", p, w.Code)
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			next := loc.Query().Get("next")
			u, err := url.Parse(next)
			if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
				t.Errorf("GET %s: next=%q leaves the site", p, next)
			}
		}
	})
}
