package greyroute_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
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
