package greyroute_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
)

// adminSite mounts an Admin's Handler under /admin/grey/ behind a stand-in
// for the user's authentication (a header), as the Handler's doc says.
type adminSite struct {
	a   *greyroute.Admin
	srv *httptest.Server
	clk *clock
}

func newAdminSite(t *testing.T) *adminSite {
	t.Helper()
	clk := newClock()
	a := newAdmin(t, newRedis(t), clk)
	requireOperator := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie("op"); err != nil || c.Value != "yes" {
				if r.Header.Get("X-Operator") != "yes" {
					http.Error(w, "not an operator", http.StatusUnauthorized)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/grey/", http.StripPrefix("/admin/grey", requireOperator(a.Handler())))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &adminSite{a: a, srv: srv, clk: clk}
}

// call sends one request as an operator; contentType "" means JSON when
// there is a body. It returns the status and the body.
func (s *adminSite) call(t *testing.T, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+"/admin/grey/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Operator", "yes")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// want sends a request and checks its status, and that its body holds
// every string of contains.
func (s *adminSite) want(t *testing.T, status int, method, path, body string, contains ...string) string {
	t.Helper()
	got, b := s.call(t, method, path, body)
	if got != status {
		t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, got, b, status)
	}
	for _, c := range contains {
		if !strings.Contains(b, c) {
			t.Fatalf("%s %s %s: %d %s, want it to hold %q", method, path, body, got, b, c)
		}
	}
	return b
}

// TestAdminHTTP calls every route of the API against a real Redis: each
// write lands in the table, reads answer what is there, bad input gets
// the status the Handler's doc promises with a JSON error naming what is
// wrong, and a cross-site write is refused.
func TestAdminHTTP(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	s := newAdminSite(t)
	a := s.a
	must(t, a.Register(ctx, greyroute.Instance{ID: "a1", Service: "orders", Version: "v1", Addr: "10.0.0.1:80", Weight: 3}, time.Hour))
	must(t, a.Register(ctx, greyroute.Instance{ID: "b1", Service: "orders", Version: "v2", Addr: "10.0.0.2:80"}, time.Hour))

	// Without the user's middleware's approval nothing is served.
	if st, _ := s.call(t, "GET", "api/services", "", "X-Operator", "no"); st != http.StatusUnauthorized {
		t.Fatalf("no operator: %d", st)
	}

	s.want(t, 200, "GET", "api/services", "", `{"services":["orders"]}`)
	s.want(t, 204, "PUT", "api/services/orders/stable", `{"version":"v1"}`)
	s.want(t, 204, "PUT", "api/services/orders/rollout", `{"to":"v2","percent":12.5}`)
	s.want(t, 204, "PUT", "api/services/orders/fallback", `{"version":"v1"}`)
	s.want(t, 204, "PUT", "api/services/orders/schema_req/v2", `{"min_schema":3}`)
	s.want(t, 204, "PUT", "api/tenants/acme/schema", `{"version":3}`)
	s.want(t, 200, "GET", "api/tenants/acme/schema", "", `{"schema":3,"tenant":"acme"}`)
	s.want(t, 204, "PUT", "api/services/orders/pins/acme", `{"version":"v2"}`)
	s.want(t, 204, "PUT", "api/services/orders/pins/globex", `{"version":"v1"}`)
	s.want(t, 204, "PUT", "api/services/orders/instances/a1/health", `{"score":40}`)

	tb, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.Stable != "v1" || tb.RolloutTo != "v2" || tb.RolloutBP != 1250 || tb.Fallback != "v1" || tb.SchemaReq["v2"] != 3 ||
		tb.Pins["acme"] != "v2" || tb.Pins["globex"] != "v1" || tb.Health["a1"] != 40 {
		t.Fatalf("the table after the API's writes: %+v", tb)
	}

	var view struct {
		Service, Stable, Fallback string
		Rev                       int64
		Rollout                   struct{ To, Percent any }
		Pins                      int
		Versions                  []struct {
			Version   string
			Roles     []string
			MinSchema int `json:"min_schema"`
			Instances int
			Pins      int
		}
		Instances []struct {
			ID, Version, Addr, Breaker string
			Weight, Health             int
			Expires                    time.Time
		}
	}
	body := s.want(t, 200, "GET", "api/services/orders", "")
	if err := json.Unmarshal([]byte(body), &view); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s %s %v %v %d %+v %+v", view.Service, view.Stable, view.Fallback, view.Rollout.To, view.Rollout.Percent, view.Pins, view.Versions, view.Instances)
	exp := s.clk.Now().Add(time.Hour).UTC()
	want := fmt.Sprintf("orders v1 v1 v2 12.5 2 [{Version:v1 Roles:[stable fallback] MinSchema:0 Instances:1 Pins:1} {Version:v2 Roles:[rollout] MinSchema:3 Instances:1 Pins:1}] "+
		"[{ID:a1 Version:v1 Addr:10.0.0.1:80 Breaker:closed Weight:3 Health:40 Expires:%v} {ID:b1 Version:v2 Addr:10.0.0.2:80 Breaker:closed Weight:0 Health:100 Expires:%v}]", exp, exp)
	if got != want || view.Rev != tb.Rev {
		t.Fatalf("GET service:\n got %s rev %d\nwant %s rev %d", got, view.Rev, want, tb.Rev)
	}

	// Pins, a page at a time, searched.
	for i := range 120 {
		must(t, a.Pin(ctx, fmt.Sprintf("t%03d", i), "orders", "v1"))
	}
	var page struct {
		Total, Offset, Limit int
		Pins                 []struct{ Tenant, Version string }
	}
	must(t, json.Unmarshal([]byte(s.want(t, 200, "GET", "api/services/orders/pins?offset=50&limit=50", "")), &page))
	if page.Total != 122 || page.Offset != 50 || len(page.Pins) != 50 || page.Pins[0].Tenant != "t048" {
		t.Fatalf("page 2 of the pins: %+v", page)
	}
	must(t, json.Unmarshal([]byte(s.want(t, 200, "GET", "api/services/orders/pins?q=T11", "")), &page))
	if page.Total != 10 || len(page.Pins) != 10 || page.Pins[9].Tenant != "t119" {
		t.Fatalf("search T11: %+v", page)
	}
	must(t, json.Unmarshal([]byte(s.want(t, 200, "GET", "api/services/orders/pins?offset=500", "")), &page))
	if page.Total != 122 || len(page.Pins) != 0 {
		t.Fatalf("past the end: %+v", page)
	}
	s.want(t, 204, "DELETE", "api/services/orders/pins/globex", "")
	s.want(t, 204, "DELETE", "api/services/orders/pins/globex", "") // a retry: no error
	must(t, json.Unmarshal([]byte(s.want(t, 200, "GET", "api/services/orders/pins?q=globex", "")), &page))
	if page.Total != 0 {
		t.Fatalf("globex still pinned: %+v", page)
	}
	s.want(t, 204, "PUT", "api/services/orders/rollout", `{"percent":0}`) // ends it; To not needed
	s.want(t, 204, "PUT", "api/services/orders/fallback", `{"version":""}`)
	tb, err = a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.RolloutTo != "" || tb.Fallback != "" {
		t.Fatalf("rollout and fallback not cleared: %+v", tb)
	}

	// Bad input: the status and a message naming what is wrong.
	for _, c := range []struct {
		status             int
		method, path, body string
		contains           string
	}{
		{400, "PUT", "api/services/orders/rollout", `{"to":"v2","percent":101}`, "Rollout.Percent 101"},
		{400, "PUT", "api/services/orders/rollout", `{"to":"v1","percent":5}`, "Rollout.To is the stable version"},
		{400, "PUT", "api/services/orders/rollout", `{"to":"v2"}`, `no \"percent\"`},
		{400, "PUT", "api/services/orders/rollout", `{"to":"v2","percent":"5"}`, `field \"percent\": want a JSON number, not string`},
		{400, "PUT", "api/services/orders/rollout", `{"to":"v2","percent":5,"pct":1}`, `unknown field \"pct\"`},
		{400, "PUT", "api/services/orders/stable", `{"version":"v1"} {}`, "more than one JSON value"},
		{400, "PUT", "api/services/orders/stable", `{"version":`, "ends in the middle"},
		{400, "PUT", "api/services/orders/stable", `{"version":"v{1}"}`, "brace"},
		{400, "PUT", "api/services/orders/stable", `{}`, `no \"version\"`},
		{400, "PUT", "api/services/orders/stable", `[1]`, "want a JSON object"},
		{400, "PUT", "api/services/or%7Bders/stable", `{"version":"v1"}`, `service \"or{ders\" contains a brace`},
		{400, "PUT", "api/services/orders/instances/a1/health", `{"score":101}`, "want a score from 0 to 100"},
		{400, "PUT", "api/services/orders/instances/a1/health", `{"score":1.5}`, "want a JSON number"},
		{400, "PUT", "api/tenants/acme/schema", `{"version":-1}`, "negative"},
		{400, "PUT", "api/services/orders/schema_req/v2", `{"min_schema":null}`, `no \"min_schema\"`},
		{400, "GET", "api/services/orders/pins?limit=0", "", `limit \"0\"`},
		{400, "GET", "api/services/orders/pins?offset=-1", "", `offset \"-1\"`},
		{400, "GET", "api/services/orders/pins?page=2", "", `unknown parameter \"page\"`},
		{400, "GET", "api/services/orders/pins?q=a&q=b", "", "given 2 times"},
		{404, "PUT", "api/services/orders/instances/zz/health", `{"score":10}`, "unknown or expired instance"},
		{404, "GET", "api/nothing", "", "404 page not found"},
		{404, "GET", "api/services/nosuch", "", `no service \"nosuch\"`},
		{413, "PUT", "api/services/orders/stable", `{"version":"v1"}` + strings.Repeat(" ", 20<<10), "larger than 16384 bytes"},
		{409, "PUT", "api/services/orders/pins/initech", `{"version":"v2"}`, "the tenant's schema is 0, the version requires 3"},
		{413, "PUT", "api/services/orders/stable", `{"version":"` + strings.Repeat("v", 20<<10) + `"}`, "larger than 16384 bytes"},
		{405, "POST", "api/services/orders/stable", `{"version":"v1"}`, ""},
	} {
		b := s.want(t, c.status, c.method, c.path, c.body, c.contains)
		if c.status != 405 && c.path != "api/nothing" && !strings.HasPrefix(b, `{"error":"`) {
			t.Fatalf("%s %s: error body %s, want JSON", c.method, c.path, b)
		}
	}

	// A body that is not JSON is refused before it is read: a cross-site
	// form can only send form or text bodies.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		st, b := s.call(t, "PUT", "api/services/orders/stable", `{"version":"v2"}`, "Content-Type", ct)
		if st != http.StatusUnsupportedMediaType || !strings.Contains(b, "application/json") {
			t.Fatalf("Content-Type %q: %d %s, want 415", ct, st, b)
		}
	}
	// A cross-site write is refused, by Sec-Fetch-Site or, without it, by
	// Origin; a same-origin one passes.
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		for _, m := range []string{"PUT", "POST", "DELETE"} {
			st, b := s.call(t, m, "api/services/orders/stable", `{"version":"v2"}`, h...)
			if st != http.StatusForbidden || !strings.Contains(b, "cross-origin request refused") {
				t.Fatalf("%s with %v: %d %s, want 403", m, h, st, b)
			}
		}
	}
	s.want(t, 200, "GET", "api/services", "") // reads are not cross-site writes
	if st, b := s.call(t, "PUT", "api/services/orders/stable", `{"version":"v2"}`, "Sec-Fetch-Site", "same-origin", "Origin", s.srv.URL); st != 204 {
		t.Fatalf("same-origin write: %d %s", st, b)
	}
	tb, err = a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.Stable != "v2" {
		t.Fatalf("stable %q after the one same-origin write, want v2 (and no cross-site one)", tb.Stable)
	}

	// The page and its files, with the headers that keep them safe.
	res, err := http.Get(s.srv.URL + "/admin/grey/?x") // no operator: refused by the user's middleware
	must(t, err)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("page without login: %d", res.StatusCode)
	}
	page2 := s.want(t, 200, "GET", "", "", `data-service="orders"`, `<script src="admin.js"`)
	_ = page2
	for _, f := range []string{"admin.js", "admin.css"} {
		s.want(t, 200, "GET", f, "")
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/admin/grey/", nil)
	req.Header.Set("X-Operator", "yes")
	res, err = http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("page headers: %v", res.Header)
	}

	// A closed Admin answers 503.
	must(t, a.Close())
	s.want(t, 503, "GET", "api/services", "", "closed")
	s.want(t, 503, "PUT", "api/services/orders/stable", `{"version":"v1"}`, "closed")
}
