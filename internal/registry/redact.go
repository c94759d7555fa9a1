package registry

import (
	"net/url"
	"strings"
)

// Redacted is u as errors may quote it: u.Redacted() (the password
// replaced by "xxxxx"), and so are the values of query parameters whose
// name says they hold a secret (secret_key, security_token, password...),
// which providers accept where a URL's userinfo cannot carry them.
func Redacted(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Redacted()
	}
	c := *u
	parts := strings.Split(c.RawQuery, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if secretParam(name) {
			parts[i] = k + "=xxxxx"
		}
	}
	c.RawQuery = strings.Join(parts, "&")
	return c.Redacted()
}

// secretParam reports whether a query parameter's name says it holds a
// secret.
func secretParam(name string) bool {
	name = strings.ToLower(name)
	for _, s := range []string{"secret", "password", "passwd", "token", "credential"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
