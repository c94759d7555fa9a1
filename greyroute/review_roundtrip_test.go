package greyroute_test

import (
	"context"
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

// rtFunc is a base transport made of a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// oneInstanceRouter is a Router over a real redis-server holding service
// "s" with one instance "i1" (the address is never dialled by the tests'
// base transports).
func oneInstanceRouter(t *testing.T) *greyroute.Router {
	t.Helper()
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	must(t, a.Register(ctx, greyroute.Instance{ID: "i1", Service: "s", Version: "v1", Addr: "127.0.0.1:1"}, time.Hour))
	must(t, a.SetStable(ctx, "s", "v1"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	l.rev(t, "s", revOf(t, a, "s"))
	return r
}

// TestReviewRoundTripperBasePanics: a base transport that panics must not
// leave its pick open for ever (a connection counted against the
// instance, a half-open probe slot held).
func TestReviewRoundTripperBasePanics(t *testing.T) {
	noLeaks(t)
	r := oneInstanceRouter(t)
	rt := r.RoundTripper(rtFunc(func(*http.Request) (*http.Response, error) { panic("base transport bug") }))
	req, _ := http.NewRequestWithContext(greyroute.WithTenant(context.Background(), "t"), "GET", "http://s/", nil)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatalf("the base transport's panic was swallowed")
			}
		}()
		_, _ = rt.RoundTrip(req)
	}()
	if n := greyroute.RouterConns(r, "s", "i1"); n != 0 {
		t.Fatalf("after the base transport panicked, %d calls still open on i1, want 0 (Done)", n)
	}
}

// TestReviewRoundTripperNilResponse: a base transport that breaks its
// contract (no response and no error) gets an error, as http.Client
// gives, not a nil-pointer panic, and the pick ends.
func TestReviewRoundTripperNilResponse(t *testing.T) {
	noLeaks(t)
	r := oneInstanceRouter(t)
	rt := r.RoundTripper(rtFunc(func(*http.Request) (*http.Response, error) { return nil, nil }))
	req, _ := http.NewRequestWithContext(greyroute.WithTenant(context.Background(), "t"), "GET", "http://s/", nil)
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("nil response and nil error from the base transport: panic %v", p)
			}
		}()
		_, err = rt.RoundTrip(req)
	}()
	if err == nil || errors.Is(err, greyroute.ErrNoInstance) {
		t.Fatalf("nil response and nil error from the base transport: err %v, want one saying so", err)
	}
	if n := greyroute.RouterConns(r, "s", "i1"); n != 0 {
		t.Fatalf("%d calls still open on i1, want 0", n)
	}
}

// TestReviewRoundTripperGetBodyFails: a retry whose body cannot be
// replayed (the caller's GetBody fails) is not the retry instance's
// failure: it was never sent a byte, and its breaker must stay closed.
func TestReviewRoundTripperGetBodyFails(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	gone := backend(t, "gone", "v1")
	gone.Close()
	live := backend(t, "live", "v1")
	must(t, a.Register(ctx, greyroute.Instance{ID: "gone", Service: "s", Version: "v1", Addr: gone.Listener.Addr().String()}, time.Hour))
	must(t, a.Register(ctx, greyroute.Instance{ID: "live", Service: "s", Version: "v1", Addr: live.Listener.Addr().String()}, time.Hour))
	must(t, a.SetStable(ctx, "s", "v1"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithBalancer("s", greyroute.RoundRobin()),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, "s", revOf(t, a, "s"))
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	rt := r.RoundTripper(tr)
	// Round robin: one of the two calls goes to gone first and is retried
	// on live, where its body's replay fails.
	retried := false
	for range 2 {
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "POST", "http://s/", strings.NewReader("body"))
		req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("upload source gone") }
		resp, err := rt.RoundTrip(req)
		if err != nil {
			retried = true
			continue
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !retried {
		t.Fatalf("no call went to gone first")
	}
	inst, err := r.Pick(ctx, "t", "s")
	if err != nil {
		t.Fatalf("live's breaker opened on a body the caller could not replay: %v", err)
	}
	r.Done(inst, nil, 0)
}

// TestReviewRoundTripperRedirectUpgradeDoubleClose: behaviour that held
// under review. A redirect to http://<service>/x re-enters routing with
// the request's tenant, and both calls' picks end; an absolute redirect
// to the instance's own address (what a server building Location from
// the Host header sends) is refused, never followed outside routing; a
// 101 upgrade ends its pick at once; a body closed twice, or read after
// its end, ends its pick once.
func TestReviewRoundTripperRedirectUpgradeDoubleClose(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rel":
			http.Redirect(w, r, "http://s/end", http.StatusFound)
		case "/relative":
			w.Header().Set("Location", "/end")
			w.WriteHeader(http.StatusFound)
		case "/abs":
			http.Redirect(w, r, "http://"+r.Host+"/end", http.StatusFound)
		case "/upgrade":
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "test")
			w.WriteHeader(http.StatusSwitchingProtocols)
		default:
			_, _ = io.WriteString(w, "end")
		}
	}))
	t.Cleanup(b.Close)
	must(t, a.Register(ctx, greyroute.Instance{ID: "i1", Service: "s", Version: "v1", Addr: b.Listener.Addr().String()}, time.Hour))
	must(t, a.SetStable(ctx, "s", "v1"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	l.rev(t, "s", revOf(t, a, "s"))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: r.RoundTripper(tr)}
	open := func() int64 { return greyroute.RouterConns(r, "s", "i1") }
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "GET", "http://s"+path, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "test")
		return client.Do(req)
	}

	resp, err := get("/rel")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body.Close()
	_, _ = resp.Body.Read(make([]byte, 1))
	if string(body) != "end" {
		t.Fatalf("redirect: %q", body)
	}
	if n := open(); n != 0 {
		t.Fatalf("after a redirect: %d calls open", n)
	}
	if _, err := get("/abs"); !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("redirect to the instance's address: %v, want ErrInvalid", err)
	}
	if n := open(); n != 0 {
		t.Fatalf("after a refused redirect: %d calls open", n)
	}
	resp, err = get("/upgrade")
	must(t, err)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	if n := open(); n != 0 {
		t.Fatalf("during an upgraded connection: %d calls open, want 0", n)
	}
	resp.Body.Close()
}

// TestReviewRoundTripperResponseRequest: the response's Request is the
// caller's (http://<service>/...), not the clone sent to the instance, so
// resp.Location() resolves a relative redirect against the service URL —
// one the RoundTripper routes — rather than the instance's address, which
// it refuses, and the instance's address does not leak as the URL called.
func TestReviewRoundTripperResponseRequest(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/end")
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(b.Close)
	must(t, a.Register(ctx, greyroute.Instance{ID: "i1", Service: "s", Version: "v1", Addr: b.Listener.Addr().String()}, time.Hour))
	must(t, a.SetStable(ctx, "s", "v1"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	l.rev(t, "s", revOf(t, a, "s"))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "GET", "http://s/start", nil)
	resp, err := r.RoundTripper(tr).RoundTrip(req)
	must(t, err)
	resp.Body.Close()
	if resp.Request != req {
		t.Errorf("resp.Request is %s, want the caller's request", resp.Request.URL)
	}
	loc, err := resp.Location()
	must(t, err)
	if loc.String() != "http://s/end" {
		t.Fatalf("resp.Location() = %s, want http://s/end", loc)
	}
}

// TestReviewRoundTripperConcurrentEnds: many concurrent calls ending every
// way — read to the end, closed early, closed twice while another
// goroutine reads, cancelled mid-body, a 5xx — leave no pick open.
func TestReviewRoundTripperConcurrentEnds(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
		chunk := strings.Repeat("x", 4096)
		for range 64 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(b.Close)
	for _, id := range []string{"i1", "i2", "i3"} {
		must(t, a.Register(ctx, greyroute.Instance{ID: id, Service: "s", Version: "v1", Addr: b.Listener.Addr().String()}, time.Hour))
	}
	must(t, a.SetStable(ctx, "s", "v1"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1 << 30}))
	l.rev(t, "s", revOf(t, a, "s"))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: r.RoundTripper(tr)}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				cctx, cancel := context.WithCancel(greyroute.WithTenant(ctx, "t"))
				path := "/ok"
				if (g+i)%5 == 0 {
					path = "/fail"
				}
				req, _ := http.NewRequestWithContext(cctx, "GET", "http://s"+path, nil)
				resp, err := client.Do(req)
				if err != nil {
					cancel()
					t.Errorf("call: %v", err)
					return
				}
				switch i % 4 {
				case 0:
					_, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
				case 1:
					resp.Body.Close()
				case 2:
					done := make(chan struct{})
					go func() { _, _ = io.ReadAll(resp.Body); close(done) }()
					resp.Body.Close()
					resp.Body.Close()
					<-done
				case 3:
					_, _ = resp.Body.Read(make([]byte, 10))
					cancel()
					_, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, id := range []string{"i1", "i2", "i3"} {
		if n := greyroute.RouterConns(r, "s", id); n != 0 {
			t.Errorf("%s: %d calls open after every body ended", id, n)
		}
	}
}

// TestReviewRoundTripperHostileAddrs: instance addresses an admin (or a
// Registry) could write that are not host:port or scheme://host[:port]
// reach no server — not the one their text names after an "@", a path or
// a fragment — crash nothing, and end their pick as the instance's
// failure.
func TestReviewRoundTripperHostileAddrs(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	var mu sync.Mutex
	reached := 0
	b := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		reached++
		mu.Unlock()
	}))
	t.Cleanup(b.Close)
	hp := b.Listener.Addr().String()
	addrs := []string{
		"evil.example@" + hp, hp + "/path", hp + "#frag", hp + "?q=1", hp + "@evil.example:80",
		"file:///etc/passwd", "http://user:pw@" + hp, "http://" + hp + "/x", "gopher://" + hp, "http://", "://" + hp,
		"ünï.invalid:80", "http://[::1", "%zz",
	}
	for i, addr := range addrs {
		svc := "s" + strconv.Itoa(i)
		must(t, a.Register(ctx, greyroute.Instance{ID: "i", Service: svc, Version: "v1", Addr: addr}, time.Hour))
		must(t, a.SetStable(ctx, svc, "v1"))
	}
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	for i := range addrs {
		l.rev(t, "s"+strconv.Itoa(i), 1)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rt := r.RoundTripper(tr)
	for i, addr := range addrs {
		svc := "s" + strconv.Itoa(i)
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "GET", "http://"+svc+"/", nil)
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
			t.Errorf("address %q: answered %d", addr, resp.StatusCode)
		}
		if n := greyroute.RouterConns(r, svc, "i"); n != 0 {
			t.Errorf("address %q: %d calls open", addr, n)
		}
	}
	if reached != 0 {
		t.Fatalf("%d requests reached the server named inside hostile addresses", reached)
	}
}

// TestReviewRoundTripperHTTPSInstance: an instance registered as
// https://host:port is called over TLS whatever the request's scheme; a
// plain host:port instance keeps the request's https.
func TestReviewRoundTripperHTTPSInstance(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	b := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tls:"+strconv.FormatBool(r.TLS != nil))
	}))
	t.Cleanup(b.Close)
	must(t, a.Register(ctx, greyroute.Instance{ID: "i1", Service: "u", Version: "v1", Addr: b.URL}, time.Hour))
	must(t, a.SetStable(ctx, "u", "v1"))
	must(t, a.Register(ctx, greyroute.Instance{ID: "i1", Service: "h", Version: "v1", Addr: b.Listener.Addr().String()}, time.Hour))
	must(t, a.SetStable(ctx, "h", "v1"))
	r, l := newRouter(t, standalone(t, srv.Addr, nil))
	l.rev(t, "u", revOf(t, a, "u"))
	l.rev(t, "h", revOf(t, a, "h"))
	base := b.Client().Transport.(*http.Transport)
	client := &http.Client{Transport: r.RoundTripper(base)}
	for _, target := range []string{"http://u/", "https://h/"} {
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "GET", target, nil)
		resp, err := client.Do(req)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "tls:true" {
			t.Fatalf("%s: %q", target, body)
		}
	}
}

// TestReviewRoundTripperRetryAvoids: a call whose first instance refused
// the connection is retried on the other instance, with a breaker that
// never opens (it would hide the balancer's choice). P2C once preferred
// the refusing instance, whose failures fed near-zero latencies: 199 of
// 200 calls failed, their retries unable to pick anything else. (Random:
// TestPolishRetryExcludes, with seeded draws.)
func TestReviewRoundTripperRetryAvoids(t *testing.T) {
	for _, bal := range []struct {
		name string
		b    greyroute.Balancer
	}{{"p2c", greyroute.P2CEWMA()}, {"leastconn", greyroute.LeastConnections()}, {"roundrobin", greyroute.RoundRobin()}} {
		t.Run(bal.name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			srv := testserver.StartRedis(t, nil)
			a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
			gone := backend(t, "gone", "v1")
			gone.Close()
			live := backend(t, "live", "v1")
			must(t, a.Register(ctx, greyroute.Instance{ID: "gone", Service: "s", Version: "v1", Addr: gone.Listener.Addr().String()}, time.Hour))
			must(t, a.Register(ctx, greyroute.Instance{ID: "live", Service: "s", Version: "v1", Addr: live.Listener.Addr().String()}, time.Hour))
			must(t, a.SetStable(ctx, "s", "v1"))
			r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithBalancer("s", bal.b),
				greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1 << 30}))
			l.rev(t, "s", revOf(t, a, "s"))
			tr := &http.Transport{DisableKeepAlives: true}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: r.RoundTripper(tr)}
			failed := 0
			for range 200 {
				req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, "t"), "GET", "http://s/", nil)
				resp, err := client.Do(req)
				if err != nil {
					failed++
					continue
				}
				_, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if failed != 0 {
				t.Fatalf("%d of 200 calls failed though every refused one could go to live", failed)
			}
		})
	}
}
