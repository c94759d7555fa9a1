package session

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/resilience"
)

// coreConfig is the core settings of a Manager that the shared fields of
// config do not hold.
type coreConfig struct {
	patterns        []pathPattern
	breaker         resilience.BreakerPolicy
	loginURL        string
	unauthenticated http.Handler
	reloginOnOutage bool
}

// setCoreDefaults sets the defaults the options override.
func (c *config) setCoreDefaults() {
	c.cookieName, c.secure = "session", true
	c.idle, c.absolute = 30*time.Minute, 12*time.Hour
	c.logger = slog.Default()
	c.meter, c.tracer = otel.GetMeterProvider(), otel.GetTracerProvider()
	c.now = time.Now
	c.core.loginURL = "/login"
}

// WithCookie overrides the default cookie name "session" and Secure true.
// With secure the cookie is Secure and its name gets the "__Host-" prefix
// (so no subdomain or plain-HTTP page can set it); turn it off only for
// development on http://localhost. The name must be a valid cookie name.
func WithCookie(name string, secure bool) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r)
		}) {
			return fmt.Errorf("%w: cookie name %q", ErrInvalid, name)
		}
		c.cookieName, c.secure = name, secure
		return nil
	}
}

// WithTimeouts overrides the default idle timeout (30m: a session unused
// that long ends) and absolute timeout (12h: a session ends that long
// after its login however busy it is). Both positive, idle ≤ absolute.
func WithTimeouts(idle, absolute time.Duration) Option {
	return func(c *config) error {
		if idle < time.Second || absolute < time.Second || idle > absolute {
			return fmt.Errorf("%w: timeouts idle %v, absolute %v: want 1s <= idle <= absolute", ErrInvalid, idle, absolute)
		}
		c.idle, c.absolute = idle, absolute
		return nil
	}
}

// WithPublicPaths adds paths the Middleware serves without a session
// (default: none). A pattern is an absolute path whose segments are
// matched one by one with path.Match ("/static/*.css", "/u/?/avatar"); a
// last segment "**" matches any number of further segments, none
// included ("/public/**" matches "/public" and "/public/a/b"). Only a
// clean request path can be public (a trailing slash aside): one with
// "." or ".." segments or "//", such as "/admin/../public/x", never is,
// since a router that does not clean it would serve another page.
// A public request still carries the session, when it has one.
func WithPublicPaths(patterns ...string) Option {
	return func(c *config) error {
		for _, p := range patterns {
			pp, err := compilePattern(p)
			if err != nil {
				return err
			}
			c.publicPaths = append(c.publicPaths, p)
			c.core.patterns = append(c.core.patterns, pp)
		}
		return nil
	}
}

// WithFallbackStore overrides the default of no fallback: while the
// primary store is unreachable, logins create sessions in store (a
// PostgresStore, say), and those keep working. Sessions in the primary
// cannot be checked until it is back (503, or re-login).
func WithFallbackStore(store Store) Option {
	return func(c *config) error {
		if store == nil {
			return fmt.Errorf("%w: nil fallback store", ErrInvalid)
		}
		c.fallback = store
		return nil
	}
}

// WithBreaker overrides the default circuit breaker policy (the zero
// resilience.BreakerPolicy) around each store's calls.
func WithBreaker(p resilience.BreakerPolicy) Option {
	return func(c *config) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		c.core.breaker = p
		return nil
	}
}

// WithLoginURL overrides the default "/login": where the Middleware sends
// a browser (a GET or HEAD accepting text/html) that has no session, with
// the page it asked for in the "next" query parameter: always a path on
// this site ("//evil.example/x" is sent as "/evil.example/x"). A login
// handler still checks next before redirecting to it: anyone can write a
// link to the login page with a next of their choosing.
func WithLoginURL(url string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(url, "/") && !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
			return fmt.Errorf("%w: login URL %q: want a path or an http(s) URL", ErrInvalid, url)
		}
		c.core.loginURL = url
		return nil
	}
}

// WithUnauthenticatedHandler overrides the default answer to a request
// without a session (a redirect to the login URL for browsers, else 401).
func WithUnauthenticatedHandler(h http.Handler) Option {
	return func(c *config) error {
		if h == nil {
			return fmt.Errorf("%w: nil unauthenticated handler", ErrInvalid)
		}
		c.core.unauthenticated = h
		return nil
	}
}

// WithReloginOnOutage overrides the default answer to a request whose
// session store is unreachable (503 Service Unavailable): it is answered
// as a request without a session (a new login, which a fallback store
// can take). Either way the request never reaches the handler.
func WithReloginOnOutage() Option {
	return func(c *config) error {
		c.core.reloginOnOutage = true
		return nil
	}
}

// WithLogger overrides the default slog.Default() for the Manager's
// warnings (a store outage, a failed hook).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalid)
		}
		c.logger = l
		return nil
	}
}

// WithMeterProvider overrides the default global MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return fmt.Errorf("%w: nil meter provider", ErrInvalid)
		}
		c.meter = mp
		return nil
	}
}

// WithTracerProvider overrides the default global TracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		if tp == nil {
			return fmt.Errorf("%w: nil tracer provider", ErrInvalid)
		}
		c.tracer = tp
		return nil
	}
}
