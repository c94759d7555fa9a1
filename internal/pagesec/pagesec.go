// Package pagesec holds what the admin pages of several packages share
// (privilege's and greyroute's): the response headers that lock a page
// down.
package pagesec

import "net/http"

// Headers sets the headers every answer of an admin handler gets: no
// framing, no sniffing, no caching, no referrer beyond the site, and a
// CSP allowing only the handler's own script and style (no inline code).
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "+
			"img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
