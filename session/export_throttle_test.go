package session

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
)

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

// ThrottleKeyOfUser is the store key username's failures count against.
func ThrottleKeyOfUser(username string) string { return throttleHash("u", strings.ToLower(username)) }
