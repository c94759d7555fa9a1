package outbox

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/groundwork-go/groundwork/mq"
)

// FuzzCheckText: Enqueue's text check never panics, and passes exactly
// the messages PostgreSQL's text and jsonb can store.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "k", "\x00", "\xff", "héllo", "a\x00b"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, key, name, value string) {
		m := &mq.Message{Topic: "t", Key: key, Headers: map[string]string{name: value}}
		err := checkText(m, 0)
		ok := storable(key) && storable(name) && storable(value)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Fatalf("checkText(%q, %q: %q) = %v", key, name, value, err)
		}
	})
}

func storable(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }
