package session_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// Decoded principals are shared between a user's requests inside the
// Manager; each request still gets its own copy, so a handler that
// changes its Principal changes no other request's.
func TestPrincipalCopyPerRequest(t *testing.T) {
	m, _ := newManager(t, redisStore(t))
	c := login(t, m, "alice", nil)
	var first *session.Principal
	var seen [][]string
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := session.PrincipalFromContext(r.Context())
		seen = append(seen, slices.Clone(p.Roles))
		if first == nil {
			first = p
			p.Roles = append(p.Roles, "root")
			p.Username = "mallory"
		}
	}))
	for range 2 {
		h.ServeHTTP(newDiscard(), newReq(c))
	}
	if len(seen) != 2 || !slices.Equal(seen[0], seen[1]) || slices.Contains(seen[1], "root") {
		t.Fatalf("roles seen by the two requests: %v", seen)
	}
}
