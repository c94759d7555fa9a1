package session

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// WithThrottleClock runs a Manager's throttling on now instead of
// time.Now (the core part may export its own clock option; this one sets
// the same config field).
func WithThrottleClock(now func() time.Time) Option {
	return func(c *config) error { c.now = now; return nil }
}

// ThrottledLogin runs what Login runs around Authenticate: throttleBefore,
// Authenticate, throttleAfter. Throttle tests use it so that they do not
// depend on the rest of Login (cookies, the session store).
func (m *Manager) ThrottledLogin(ctx context.Context, r *http.Request, username, password string) (*Principal, error) {
	if err := m.throttleBefore(ctx, r, username); err != nil {
		return nil, err
	}
	p, err := m.auth.Authenticate(ctx, username, password)
	if aerr := m.throttleAfter(ctx, r, username, err == nil); aerr != nil && err == nil {
		err = aerr
	}
	return p, err
}

// CountBcrypt counts bcrypt comparisons until restore is called. Tests
// that use it do not run in parallel.
func CountBcrypt(n *atomic.Int64) (restore func()) {
	old := compareHash
	compareHash = func(h, p []byte) error { n.Add(1); return old(h, p) }
	return func() { compareHash = old }
}

// DummyHash is the stand-in hash unknown users are checked against.
var DummyHash = dummyHash

// CSRFMask and CSRFVerify expose the token codec to the fuzz target.
var (
	CSRFMask   = csrfMask
	CSRFVerify = csrfVerify
)

// WithThrottleMeterProvider sets the config field core's WithMeterProvider
// sets (until it lands).
func WithThrottleMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error { c.meter = mp; return nil }
}

// CSRFCheckOrigin runs CSRF's origin check on a request to host with the
// given Origin header, trusting trusted.
func CSRFCheckOrigin(trusted []string, origin, host string, overTLS bool) error {
	var c config
	if err := WithTrustedOrigins(trusted...)(&c); err != nil {
		return err
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Host = host
	r.Header.Set("Origin", origin)
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	}
	return c.csrf.checkOrigin(r, false)
}
