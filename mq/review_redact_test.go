package mq_test

import (
	"context"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
)

// TestOpenErrorsRedactPassword: whatever is wrong with a URL, Open's error
// never shows its password: not when the URL does not parse (net/url's
// own error quotes the whole URL), not when it has no scheme, not when the
// provider rejects it or the broker does not answer.
func TestOpenErrorsRedactPassword(t *testing.T) {
	const secret = "s3cretpw"
	broker := memmqNamed(t, "redact-down")
	broker.SetReachable(false)
	for _, raw := range []string{
		"redis://user:" + secret + "@host:port",                     // bad port: url.Parse fails
		"rediss://:" + secret + "@h1:6379,h2:x/0",                   // password only, a cluster list, a bad port
		"redis://user:" + secret + "%zz@host:6379",                  // a bad percent-escape
		"redis://user:" + secret + "@[::1:6379",                     // an unclosed IPv6 host
		"redis://user:" + secret + "@host:6379/\x7f",                // a control character
		"//user:" + secret + "@host:6379",                           // no scheme
		"mem://user:" + secret + "@redact-down?bogus=1",             // a parameter the provider rejects
		"mem://:" + secret + "@redact-down",                         // the broker does not answer
		"mem://user:" + strings.ToUpper(secret) + "%21@redact-down", // percent-encoded, unreachable
	} {
		c, err := mq.Open(context.Background(), raw, quiet)
		if err == nil {
			c.Close()
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		if s := strings.ToLower(err.Error()); strings.Contains(s, secret) {
			t.Errorf("Open(%q): the error shows the password: %q", raw, err)
		}
		checkOnePrefix(t, "Open("+raw+")", err)
	}
}
