package greyroute

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidName: validName never panics; a name it accepts is 1–128
// bytes of UTF-8 without control characters or braces, so the service's
// keys carry exactly its hash tag and a change event splits back into the
// name and the rev.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"orders", "", "a{b", "}", "v1.2", "tenant 42", "\x00", "é", "\xff", "a\u0085b",
		strings.Repeat("x", 128), strings.Repeat("x", 129), strings.Repeat("é", 64), strings.Repeat("é", 65), `a\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := validName("service", s)
		if err != nil {
			if !strings.Contains(err.Error(), "service") {
				t.Fatalf("error %q does not name the field", err)
			}
			return
		}
		if len(s) == 0 || len(s) > maxName || !utf8.ValidString(s) || strings.ContainsAny(s, "{}") || strings.ContainsFunc(s, isControl) {
			t.Fatalf("accepted %q", s)
		}
		for _, k := range serviceKeys(DefaultPrefix, s).list() {
			open, close := strings.IndexByte(k, '{'), strings.IndexByte(k, '}')
			if k[open+1:close] != s || strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
				t.Fatalf("key %q of service %q: its hash tag is not the name", k, s)
			}
		}
		what, rev, ok := parseChanged(s + " 17")
		if !ok || what != s || rev != "17" {
			t.Fatalf("event %q parsed as %q %q %v", s+" 17", what, rev, ok)
		}
	})
}
