package greyroute_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/groundwork-go/groundwork/greyroute"
)

// TestTenantMiddleware: the extracted tenant reaches the handler's
// context; an empty one (or a nil extract) leaves the request alone.
func TestTenantMiddleware(t *testing.T) {
	var got string
	var ok bool
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got, ok = greyroute.TenantFromContext(r.Context()) })
	for _, c := range []struct {
		extract func(*http.Request) string
		header  string
		want    string
		wantOK  bool
	}{
		{func(r *http.Request) string { return r.Header.Get("X-Tenant") }, "acme", "acme", true},
		{func(r *http.Request) string { return r.Header.Get("X-Tenant") }, "", "", false},
		{nil, "acme", "", false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Tenant", c.header)
		greyroute.TenantMiddleware(c.extract)(h).ServeHTTP(httptest.NewRecorder(), req)
		if got != c.want || ok != c.wantOK {
			t.Errorf("header %q: tenant %q, %v; want %q, %v", c.header, got, ok, c.want, c.wantOK)
		}
	}
	if tn, ok := greyroute.TenantFromContext(greyroute.WithTenant(context.Background(), "t1")); tn != "t1" || !ok {
		t.Errorf("WithTenant: %q, %v", tn, ok)
	}
}
