package greyroute_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestReviewHTTPUnreachableHidesAddress: with Redis unreachable the
// handler answers 503 without the server's address (or the dial error)
// in the body, the API's or the page's: the address is the deployment's,
// the log has it.
func TestReviewHTTPUnreachableHidesAddress(t *testing.T) {
	noLeaks(t)
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, &redis.Options{MaxRetries: -1}), nil)
	srv.Stop() // a dial's error names the address
	h := a.Handler()
	for _, path := range []string{"/", "/api/services", "/api/services/s", "/api/services/s/pins", "/api/tenants/t/schema"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body := rec.Body.String()
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET %s: %d %s, want 503", path, rec.Code, body)
		}
		_, port, _ := strings.Cut(srv.Addr, ":")
		for _, leak := range []string{port, "dial", "tcp"} {
			if strings.Contains(body, leak) {
				t.Fatalf("GET %s: the answer holds %q: %s", path, leak, body)
			}
		}
	}
}
