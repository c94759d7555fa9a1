package greyroute_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// echo is what a test backend answers: who it is and what it got.
type echo struct {
	ID, Version, Path, Query, Header, Body, Host string
}

// backend starts an httptest server for one instance: /status/N answers
// N, anything else the echo.
func backend(t *testing.T, id, version string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
			n, _ := strconv.Atoi(code)
			w.WriteHeader(n)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(echo{ID: id, Version: version, Path: r.URL.Path, Query: r.URL.RawQuery,
			Header: r.Header.Get("X-Echo"), Body: string(body), Host: r.Host})
	}))
	t.Cleanup(s.Close)
	return s
}

// countingTransport counts the requests sent to each host.
type countingTransport struct {
	base *http.Transport
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[req.URL.Host]++
	c.mu.Unlock()
	return c.base.RoundTrip(req)
}

func (c *countingTransport) count(host string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[host]
}

func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// TestRoundTripper: end to end with a real redis-server, an Admin, and an
// httptest backend per instance (two of v1, one of v2).
func TestRoundTripper(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	v1a, v1b, v2a := backend(t, "v1a", "v1"), backend(t, "v1b", "v1"), backend(t, "v2a", "v2")
	// No keep-alive: every attempt dials, so one to a closed backend is
	// refused (a pooled connection the server closed would fail with EOF
	// instead: maybe sent, a failure that is not retried).
	ct := &countingTransport{base: &http.Transport{DisableKeepAlives: true}, n: map[string]int{}}
	t.Cleanup(ct.base.CloseIdleConnections)
	hostOf := func(s *httptest.Server) string { return s.Listener.Addr().String() }
	for _, in := range []greyroute.Instance{
		{ID: "v1a", Service: "billing", Version: "v1", Addr: hostOf(v1a)},
		{ID: "v1b", Service: "billing", Version: "v1", Addr: hostOf(v1b)},
		{ID: "v2a", Service: "billing", Version: "v2", Addr: v2a.URL}, // the URL form
	} {
		must(t, a.Register(ctx, in, time.Hour))
	}
	must(t, a.SetStable(ctx, "billing", "v1"))
	must(t, a.Pin(ctx, "acme", "billing", "v2"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithBalancer("billing", greyroute.RoundRobin()),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, "billing", revOf(t, a, "billing"))
	client := &http.Client{Transport: r.RoundTripper(ct)}

	call := func(tenant, method, target, body string) (echo, *http.Request) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(greyroute.WithTenant(ctx, tenant), method, target, rd)
		must(t, err)
		req.Header.Set("X-Echo", "hello "+tenant)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s for %s: %v", method, target, tenant, err)
		}
		defer resp.Body.Close()
		var e echo
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("%s %s for %s: status %d: %v", method, target, tenant, resp.StatusCode, err)
		}
		return e, req
	}
	conns := func() (n int64) {
		for _, id := range []string{"v1a", "v1b", "v2a"} {
			n += greyroute.RouterConns(r, "billing", id)
		}
		return n
	}

	// Versions, and what passes through; the caller's request unchanged.
	e, req := call("t1", "GET", "http://billing/hello?x=1&y=2", "")
	if e.Version != "v1" || e.Path != "/hello" || e.Query != "x=1&y=2" || e.Header != "hello t1" {
		t.Fatalf("t1: %+v", e)
	}
	if req.URL.String() != "http://billing/hello?x=1&y=2" || req.Host != "billing" || len(req.Header) != 1 {
		t.Fatalf("the caller's request changed: %s, host %q, header %v", req.URL, req.Host, req.Header)
	}
	e, _ = call("acme", "POST", "http://billing/orders", `{"n":1}`)
	if e.Version != "v2" || e.ID != "v2a" || e.Body != `{"n":1}` || e.Host != hostOf(v2a) {
		t.Fatalf("acme (pinned to v2): %+v", e)
	}
	// Rolling t1 out to v2 and back.
	must(t, a.SetRollout(ctx, "billing", greyroute.Rollout{To: "v2", Percent: 100}))
	l.rev(t, "billing", revOf(t, a, "billing"))
	if e, _ := call("t1", "GET", "http://billing/", ""); e.Version != "v2" {
		t.Fatalf("t1 in a 100%% rollout: %+v", e)
	}
	must(t, a.SetRollout(ctx, "billing", greyroute.Rollout{Percent: 0}))
	l.rev(t, "billing", revOf(t, a, "billing"))
	if e, _ := call("t1", "GET", "http://billing/", ""); e.Version != "v1" {
		t.Fatalf("t1 after the rollout ended: %+v", e)
	}
	if n := conns(); n != 0 {
		t.Fatalf("%d calls still counted after every body was closed", n)
	}

	// Done comes at the body's end: the call counts until then, and
	// reading to EOF ends it even before Close.
	req, _ = http.NewRequestWithContext(greyroute.WithTenant(ctx, "acme"), "GET", "http://billing/x", nil)
	resp, err := client.Do(req)
	must(t, err)
	if n := greyroute.RouterConns(r, "billing", "v2a"); n != 1 {
		t.Fatalf("conns %d with the body unread, want 1", n)
	}
	_, _ = io.ReadAll(resp.Body)
	if n := greyroute.RouterConns(r, "billing", "v2a"); n != 0 {
		t.Fatalf("conns %d after EOF, want 0", n)
	}
	resp.Body.Close()

	// A 4xx is the caller's fault: v2a stays in; a 5xx opens its breaker
	// (one failure, by the policy), and acme then gets ErrNoInstance
	// without anything being sent.
	status := func(code int) {
		t.Helper()
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "acme"), "GET", "http://billing/status/"+strconv.Itoa(code), nil)
		resp, err := client.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Fatalf("status %d, want %d", resp.StatusCode, code)
		}
	}
	status(404)
	status(404)
	status(503)
	sent := ct.total()
	req, _ = http.NewRequestWithContext(greyroute.WithTenant(ctx, "acme"), "GET", "http://billing/", nil)
	if _, err := client.Do(req); !errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("acme after v2a's 5xx: %v, want ErrNoInstance", err)
	}
	if ct.total() != sent {
		t.Fatalf("a request with no instance was sent somewhere")
	}

	// v1a goes away mid-test: the request that finds it refused is
	// retried on v1b (its body replayed), v1a's breaker opens, and every
	// later call goes to v1b without trying v1a again.
	atClose := ct.count(hostOf(v1a))
	v1a.Close()
	for i := range 6 {
		e, _ := call("t1", "PUT", "http://billing/put", "payload "+strconv.Itoa(i))
		if e.ID != "v1b" || e.Body != "payload "+strconv.Itoa(i) {
			t.Fatalf("call %d after v1a closed: %+v", i, e)
		}
	}
	// Round robin over two offers v1a within two calls; it is tried once,
	// refused, and never again (its breaker is open).
	if n := ct.count(hostOf(v1a)) - atClose; n != 1 {
		t.Fatalf("%d attempts went to v1a after it closed, want 1", n)
	}
	if n := conns(); n != 0 {
		t.Fatalf("%d calls still counted at the end", n)
	}

	// Refusals: never sent anywhere.
	sent = ct.total()
	for name, c := range map[string]struct {
		ctx    context.Context
		target string
		want   error
	}{
		"no tenant":      {ctx, "http://billing/", greyroute.ErrUnknownTenant},
		"empty tenant":   {greyroute.WithTenant(ctx, ""), "http://billing/", greyroute.ErrUnknownTenant},
		"not a service":  {greyroute.WithTenant(ctx, "t1"), "http://example.com/", greyroute.ErrUnknownTenant},
		"a port":         {greyroute.WithTenant(ctx, "t1"), "http://billing:8080/", greyroute.ErrInvalid},
		"another scheme": {greyroute.WithTenant(ctx, "t1"), "ftp://billing/", greyroute.ErrInvalid},
	} {
		req, _ := http.NewRequestWithContext(c.ctx, "POST", c.target, strings.NewReader("body"))
		if _, err := r.RoundTripper(ct).RoundTrip(req); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if ct.total() != sent {
		t.Fatalf("a refused request was sent")
	}
}

// TestRoundTripperNoReplay: a refused connection is retried on another
// instance only when the body can be sent again; a cancelled call is not
// a failure.
func TestRoundTripperNoReplay(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	gone := backend(t, "gone", "v1")
	gone.Close()
	live := backend(t, "live", "v1")
	for _, svc := range []string{"s", "c"} {
		must(t, a.Register(ctx, greyroute.Instance{ID: "gone", Service: svc, Version: "v1", Addr: gone.Listener.Addr().String()}, time.Hour))
		must(t, a.SetStable(ctx, svc, "v1"))
	}
	must(t, a.Register(ctx, greyroute.Instance{ID: "live", Service: "s", Version: "v1", Addr: live.Listener.Addr().String()}, time.Hour))
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithBalancer("s", greyroute.RoundRobin()),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour}))
	l.rev(t, "s", revOf(t, a, "s"))
	l.rev(t, "c", revOf(t, a, "c"))
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	rt := r.RoundTripper(tr)

	// Round robin over gone and live: of two calls one goes to gone, and
	// its body (a reader with no GetBody) cannot be replayed on live.
	failed := 0
	for range 2 {
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "POST", "http://s/", io.NopCloser(strings.NewReader("once")))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			if errors.Is(err, greyroute.ErrNoInstance) || !strings.Contains(err.Error(), `"gone"`) {
				t.Fatalf("refused, body not replayable: %v; want the dial error naming the instance", err)
			}
			failed++
			continue
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if failed != 1 {
		t.Fatalf("%d of 2 calls failed, want 1 (not retried)", failed)
	}

	// Service c has only gone. Cancelled: not a failure; one real failure
	// then leaves the breaker (2 in a row) closed.
	cctx, cancel := context.WithCancel(greyroute.WithTenant(ctx, "t"))
	cancel()
	req, _ := http.NewRequestWithContext(cctx, "GET", "http://c/", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	req, _ = http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "GET", "http://c/", nil)
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatalf("gone answered")
	}
	inst, err := r.Pick(ctx, "t", "c")
	if err != nil {
		t.Fatalf("one failure and one cancellation opened the breaker: %v", err)
	}
	r.Done(inst, context.Canceled, 0)
}
