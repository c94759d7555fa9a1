package greyroute_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
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
