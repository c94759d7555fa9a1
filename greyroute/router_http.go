package greyroute

import (
	"context"
	"net/http"
)

// tenantKey is the context key of the tenant.
type tenantKey struct{}

// WithTenant returns a copy of ctx carrying tenant, for TenantFromContext
// (and the RoundTripper, when built) to route by.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantFromContext returns the tenant WithTenant put in ctx, and whether
// there is one.
func TenantFromContext(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantKey{}).(string)
	return t, ok
}

// TenantMiddleware returns middleware that puts the tenant extract finds
// in a request (a header, a JWT claim, a subdomain) into the request's
// context with WithTenant, so calls made while serving it route by that
// tenant. A request for which extract returns "" passes unchanged. A nil
// extract makes middleware that changes nothing.
func TenantMiddleware(extract func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if extract != nil {
				if t := extract(req); t != "" {
					req = req.WithContext(WithTenant(req.Context(), t))
				}
			}
			next.ServeHTTP(w, req)
		})
	}
}
