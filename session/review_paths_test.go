package session_test

import (
	"net/http"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// A path the Middleware calls public must be the path the router sees:
// "/admin/../public/x" cleans to a public path, but a router that does not
// clean (chi, gorilla/mux with SkipClean, a reverse proxy) routes it to
// /admin. A path that is not in its clean form is never public.
func TestReviewPublicPathNotCleanIsNotPublic(t *testing.T) {
	stores(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.WithPublicPaths("/public/**", "/login"))
		reached := false
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true // stands for a router that matches /admin/... on the raw path
		}))
		for _, p := range []string{"/admin/../public/x", "/admin/%2e%2e/public/x", "/admin%2F..%2Fpublic", "//public/x", "/admin/./../login", "/public/./../admin"} {
			reached = false
			w := get(h, p, nil, "")
			if reached || w.Code != http.StatusUnauthorized {
				t.Errorf("GET %s without a session: handler reached %v, status %d; want 401 and not reached", p, reached, w.Code)
			}
		}
		// Clean public paths (a trailing slash included) stay public.
		for _, p := range []string{"/public/x", "/public/", "/login", "/login/"} {
			reached = false
			if get(h, p, nil, ""); !reached {
				t.Errorf("GET %s: the public handler was not reached", p)
			}
		}
	})
}
