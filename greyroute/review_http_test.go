package greyroute_test

import (
	"context"
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

// TestReviewHTTPHostile: what a hostile page or operator can send is
// refused with the right status and changes nothing — cross-site and
// same-site (a sibling subdomain) writes by Sec-Fetch-Site or Origin, a
// form post, text/plain, a beacon (POST), a preflight (never granted);
// odd paths; JSON bombs and out-of-range numbers — and API answers are
// never cached.
func TestReviewHTTPHostile(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	a := newAdmin(t, newRedis(t), nil)
	register(t, a, "s", "v1", "a1")
	register(t, a, "s", "v2", "b1")
	must(t, a.SetStable(ctx, "s", "v1"))
	h := a.Handler()
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	for _, c := range []struct {
		method, path, ctype, body string
		hdr                       map[string]string
		want                      int
	}{
		{"PUT", "/api/services/s/stable", "application/json", `{"version":"v2"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"PUT", "/api/services/s/stable", "application/json", `{"version":"v2"}`, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"PUT", "/api/services/s/stable", "application/json", `{"version":"v2"}`, map[string]string{"Origin": "http://evil.example"}, 403},
		{"PUT", "/api/services/s/stable", "application/json", `{"version":"v2"}`, map[string]string{"Origin": "null"}, 403},
		{"DELETE", "/api/services/s/pins/t", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST", "/api/services/s/stable", "application/x-www-form-urlencoded", "version=v2", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST", "/api/services/s/stable", "text/plain", `{"version":"v2"}`, nil, 405},
		{"PUT", "/api/services/s/stable", "text/plain", `{"version":"v2"}`, nil, 415},
		{"PUT", "/api/services/s/stable", "application/json;charset=utf-7", `{"version":"v2"}`, nil, 204}, // same origin, JSON: fine
		{"PUT", "/api/services/s/stable", "application/json", `{"version":"v1","version":"v2{"}`, nil, 400},
		{"PUT", "/api/services/s/rollout", "application/json", `{"to":"v2","percent":1e309}`, nil, 400},
		{"PUT", "/api/services/s/rollout", "application/json", `{"to":"v2","percent":NaN}`, nil, 400},
		{"PUT", "/api/services/s/rollout", "application/json", `{"to":"v2","percent":100.004}`, nil, 400},
		{"PUT", "/api/services/s/rollout", "application/json", `{"to":"v2","percent":0.004}`, nil, 400},
		{"PUT", "/api/services/s/rollout", "application/json", `{"to":` + deep + `,"percent":1}`, nil, 400},
		{"PUT", "/api/services/s/instances/a1/health", "application/json", `{"score":1e2}`, nil, 400},
		{"PUT", "/api/services/s/instances/a1/health", "application/json", `{"score":99999999999999999999}`, nil, 400},
		{"PUT", "/api/services/s/pins/t", "application/json", `{"version":"v2"}` + strings.Repeat(" ", 20<<10), nil, 413},
		{"GET", "/api/services/%7Bs%7D", "", "", nil, 400},
		{"GET", "/api/services/s%00", "", "", nil, 400},
		{"GET", "/api/services/" + strings.Repeat("x", 129), "", "", nil, 400},
		{"GET", "/api/services/%2F..", "", "", nil, 404},
		{"GET", "/api/services/s/pins?limit=100000", "", "", nil, 400},
		{"GET", "/api/services/s/pins?offset=-1", "", "", nil, 400},
		{"HEAD", "/api/services/s", "", "", nil, 200},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Fatalf("%s %s %q %v: %d %s, want %d", c.method, c.path, c.body[:min(len(c.body), 60)], c.hdr, rec.Code, rec.Body.String(), c.want)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("%s %s: Cache-Control %q", c.method, c.path, cc)
		}
	}
	tb, err := a.Snapshot(ctx, "s")
	must(t, err)
	if tb.Stable != "v2" || tb.RolloutBP != 0 || len(tb.Pins) != 0 || len(tb.Health) != 0 {
		t.Fatalf("hostile requests changed the table: %+v", tb)
	}
	// A preflight is never granted.
	req := httptest.NewRequest("OPTIONS", "/api/services/s/stable", nil)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for k := range rec.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Fatalf("preflight answered %s: %v", k, rec.Header())
		}
	}
}
