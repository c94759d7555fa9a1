package session

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// csrfConfig is the CSRF part of a Manager's configuration.
type csrfConfig struct {
	trusted map[string]bool // canonical "scheme://host[:port]"
	failure http.Handler
}

// WithTrustedOrigins lets unsafe requests whose Origin (or Referer) is
// one of origins through CSRF's origin check, besides the request's own
// origin. Each is "scheme://host[:port]" with scheme http or https and no
// path. Repeatable.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) error {
		for _, o := range origins {
			u, err := url.Parse(o)
			canon, ok := csrfOrigin(o)
			if err != nil || !ok || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return fmt.Errorf("%w: WithTrustedOrigins(%q): want scheme://host[:port] with scheme http or https and nothing after", ErrInvalid, o)
			}
			if c.csrf.trusted == nil {
				c.csrf.trusted = make(map[string]bool)
			}
			c.csrf.trusted[canon] = true
		}
		return nil
	}
}

// WithCSRFFailureHandler sets what answers a request CSRF refuses,
// overriding the default (403 with the reason, 503 when the session store
// is unreachable). CSRFFailure(r) says why.
func WithCSRFFailureHandler(h http.Handler) Option {
	return func(c *config) error {
		if h == nil {
			return fmt.Errorf("%w: WithCSRFFailureHandler(nil)", ErrInvalid)
		}
		c.csrf.failure = h
		return nil
	}
}

func (c *csrfConfig) failureHandler() http.Handler {
	if c.failure != nil {
		return c.failure
	}
	return http.HandlerFunc(csrfDefaultFailure)
}

func csrfDefaultFailure(w http.ResponseWriter, r *http.Request) {
	err := CSRFFailure(r)
	if errors.Is(err, ErrUnavailable) {
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return
	}
	reason := "forbidden"
	if err != nil {
		reason = err.Error()
	}
	http.Error(w, "Forbidden: "+reason, http.StatusForbidden)
}

// checkOrigin accepts r when its Origin (else Referer) is its own origin
// or a trusted one. Its own scheme is https when it came over TLS or the
// cookie is Secure (TLS ended at a proxy), else http: an http page may not
// post to an https site.
func (c *csrfConfig) checkOrigin(r *http.Request, secure bool) error {
	from := r.Header.Get("Origin")
	header := "Origin"
	if from == "" {
		from, header = r.Header.Get("Referer"), "Referer"
	}
	if from == "" {
		return fmt.Errorf("%w: no Origin or Referer header", ErrCSRF)
	}
	got, ok := csrfOrigin(from)
	if !ok {
		return fmt.Errorf("%w: %s %q is not an http(s) origin", ErrCSRF, header, csrfQuote(from))
	}
	scheme := "http"
	if r.TLS != nil || secure {
		scheme = "https"
	}
	if own, ok := csrfOrigin(scheme + "://" + r.Host); ok && got == own {
		return nil
	}
	if c.trusted[got] {
		return nil
	}
	return fmt.Errorf("%w: %s %q is not this site's origin or a trusted one", ErrCSRF, header, csrfQuote(from))
}

// csrfOrigin returns the canonical "scheme://host[:port]" of a URL or
// origin: lower case, default port dropped.
func csrfOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return u.Scheme + "://" + host, true
}

// csrfQuote shortens a header value for an error message.
func csrfQuote(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
