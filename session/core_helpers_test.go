package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

var base = time.UnixMilli(1_700_000_000_000)

var errorsIs = errors.Is

// discard is a ResponseWriter that throws the answer away.
type discard struct{ h http.Header }

func newDiscard() *discard { return &discard{h: http.Header{}} }

func (d *discard) Header() http.Header { return d.h }
func (d *discard) Write(p []byte) (int, error) {
	return len(p), nil
}
func (d *discard) WriteHeader(int) {}

func newReq(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/private", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func redisURLForBench(b *testing.B) string { return testserver.RedisURL(b) }
