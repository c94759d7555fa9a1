package session_test

import (
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// FuzzParseSessionID: the cookie parser never panics, and accepts only
// values it would itself produce.
func FuzzParseSessionID(f *testing.F) {
	good := "0123abcd." + strings.Repeat("A", 43)
	for _, s := range []string{good, "f." + good, "", ".", "f.", "0123ABCD." + strings.Repeat("A", 43),
		"0123abcd." + strings.Repeat("A", 42) + "B", "0123abcd:" + strings.Repeat("A", 43), good + "=", "f.f." + good} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		canon, ok := session.ParseSessionID(v)
		if ok && canon != v {
			t.Fatalf("parsed %q, which formats as %q", v, canon)
		}
	})
}

func TestParseSessionIDStrict(t *testing.T) {
	good := "0123abcd." + strings.Repeat("A", 43)
	if _, ok := session.ParseSessionID(good); !ok {
		t.Fatal("a well-formed ID refused")
	}
	for _, bad := range []string{"0123ABCD." + strings.Repeat("A", 43), // uppercase shard
		"0123abcd." + strings.Repeat("A", 42) + "B", // non-canonical last char
		"0123abcd." + strings.Repeat("A", 42) + "+", // not base64url
		good + "A", good[:len(good)-1], "x." + good, "f.f." + good} {
		if _, ok := session.ParseSessionID(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestShardOf(t *testing.T) {
	if got := session.ShardOf("alice"); got != "2bd806c9" {
		t.Fatalf("shardOf(alice) = %q, want the first 8 hex of SHA-256(alice)", got)
	}
}
