package logship

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestRedactionDefaults(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: DefaultRules()})).With("db_password", "hunter2", "note", "from jane.doe+x@mail.example.org")
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	l.Info("card 4111 1111 1111 1111 and 4111-1111-1111-1112 by a@b.io",
		"Authorization", "Bearer abc.def", "hdr", "Bearer sekrit-123 rest", "jwt", "tok="+jwt+";",
		"cardnum", 4012888888881881, "ts", int64(1764500000000), "plain", "nothing here 12345",
		slog.Group("user", "API-Key", "k1", "email", "x@y.example"), "ip", "10.0.0.1")
	_, doc := frontLast(t, sink)
	want := map[string]any{
		"message":       "card [REDACTED] and 4111-1111-1111-1112 by [REDACTED]", // the second fails Luhn
		"db_password":   "[REDACTED]",
		"note":          "from [REDACTED]",
		"Authorization": "[REDACTED]",
		"hdr":           "Bearer [REDACTED] rest",
		"jwt":           "tok=[REDACTED];",
		"cardnum":       "[REDACTED]",
		"ts":            1764500000000.0, // a millisecond time is no card
		"plain":         "nothing here 12345",
		"ip":            "10.0.0.1", // IPRule is opt-in
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	if u := doc["user"].(map[string]any); u["API-Key"] != "[REDACTED]" || u["email"] != "[REDACTED]" {
		t.Errorf("user %v", u)
	}
}

func TestRedactionCustomRules(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: []Rule{
		{Keys: []string{"SSN"}, Drop: true},
		{Keys: []string{"order"}, Pattern: regexp.MustCompile(`ORD-\d+`), Replacement: "ORD-?"},
		{Pattern: regexp.MustCompile(`x*`)}, // matches empty everywhere: must not loop
		IPRule(),
	}}))
	l.Info("from 192.168.1.20 and ::1 and 2001:db8::1 at 12:30:45 v1.2.3", "ssn", "123-45-6789", "order", "ORD-77 ok", "other", "ORD-77", "xs", "axxb")
	_, doc := frontLast(t, sink)
	if _, ok := doc["ssn"]; ok {
		t.Error("ssn not dropped")
	}
	if doc["order"] != "ORD-? ok" || doc["other"] != "ORD-77" || doc["xs"] != "a[REDACTED]b" {
		t.Errorf("doc %v", doc)
	}
	if doc["message"] != "from [REDACTED] and [REDACTED] and [REDACTED] at 12:30:45 v1.2.3" {
		t.Errorf("message %q", doc["message"])
	}
}

// frontKeys is a KeyProvider holding keys in memory; Erase deletes one.
type frontKeys struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func (k *frontKeys) SubjectKey(_ context.Context, subject string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[subject]
	if !ok {
		return nil, ErrErased
	}
	return key, nil
}

func TestPseudonymisationAndErasure(t *testing.T) {
	keys := &frontKeys{keys: map[string][]byte{"t1": []byte("key-of-t1"), "t2": []byte("key-of-t2")}}
	s, sink := frontShipper(t)
	h := s.Handler(&HandlerOptions{Service: "svc", Redact: []Rule{{Keys: []string{"email"}, Pseudonym: &Pseudonymizer{Keys: keys, Subject: "tenant"}}}})
	l := slog.New(h)
	get := func() string {
		_, doc := frontLast(t, sink)
		return doc["email"].(string)
	}
	l.Info("a", "tenant", "t1", "email", "bob@example.org")
	p1 := get()
	l.With("tenant", "t1").Info("b", "email", "bob@example.org")
	p1b := get()
	l.With("tenant", "t1", "email", "bob@example.org").Info("c") // pre-encoded
	p1c := get()
	l.Info("d", "tenant", "t2", "email", "bob@example.org")
	p2 := get()
	if !strings.HasPrefix(p1, "ps:") || len(p1) != 35 || p1 != p1b || p1 != p1c || p1 == p2 || strings.Contains(p1, "bob") {
		t.Fatalf("pseudonyms %q %q %q %q: want one stable per tenant", p1, p1b, p1c, p2)
	}
	l.Info("e", "email", "bob@example.org") // no subject: fail closed
	if got := get(); got != DefaultReplacement {
		t.Fatalf("no subject: %q", got)
	}
	keys.mu.Lock()
	delete(keys.keys, "t1")
	keys.mu.Unlock()
	l.Info("f", "tenant", "t1", "email", "bob@example.org")
	if got := get(); got != ErasedReplacement {
		t.Fatalf("erased subject: %q", got)
	}
	// The value as its own subject.
	own := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: []Rule{{Keys: []string{"user"}, Pseudonym: &Pseudonymizer{Keys: keys}}}}))
	own.Info("g", "user", "t2")
	if _, doc := frontLast(t, sink); !strings.HasPrefix(doc["user"].(string), "ps:") {
		t.Fatalf("doc %v", doc)
	}
}

func TestCardDetector(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"4111111111111111", "[REDACTED]"},
		{"x 5555 5555 5555 4444 y", "x [REDACTED] y"},
		{"378282246310005", "[REDACTED]"},               // Amex, 15
		{"4111 1111 1111 1111 1234", "[REDACTED] 1234"}, // trailing group
		{"4111111111111112", "4111111111111112"},        // Luhn fails
		{"1764500000000000000", "1764500000000000000"},
		{"41111111111111111111111", "41111111111111111111111"}, // too long
		{"4111  1111 1111 1111", "4111  1111 1111 1111"},       // double space: no one number
	} {
		rd, _ := compileRules([]Rule{CardRule()})
		got := string(rd.appendString(nil, "k", c.in, false))
		if got != `"`+c.want+`"` {
			t.Errorf("%q -> %s, want %q", c.in, got, c.want)
		}
	}
}

// TestRedactionLinearInMatches: a value full of matches calls each rule's
// finder once per match of that rule, not once per match of any rule.
func TestRedactionLinearInMatches(t *testing.T) {
	var calls int
	counting := Rule{Match: func(s string) (int, int) {
		calls++
		return strings.Index(s, "zz"), strings.Index(s, "zz") + 2
	}}
	rd, err := compileRules([]Rule{EmailRule(), counting})
	if err != nil {
		t.Fatal(err)
	}
	out := rd.appendString(nil, "k", strings.Repeat("a@b.example ", 1000)+"zz", false)
	if calls > 2 || !strings.HasSuffix(string(out), `[REDACTED]"`) {
		t.Fatalf("%d calls of a rule that matches once", calls)
	}
}

func TestRedactionRulePanics(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: []Rule{EmailRule(), {Match: func(v string) (int, int) {
		if v == "boom" {
			panic("rule bug")
		}
		return -1, -1
	}}}}))
	l.Warn("mail a@b.example", "x", "boom")
	_, doc := frontLast(t, sink)
	if doc["log.level"] != "warn" || !strings.Contains(doc["message"].(string), "panicked") || doc["x"] != nil {
		t.Fatalf("doc %v", doc)
	}
	l.Info("fine", "x", "ok")
	if _, doc = frontLast(t, sink); doc["x"] != "ok" {
		t.Fatalf("doc %v", doc)
	}
	l.With("y", "boom", "z", "a@b.example").Info("after With")
	if _, doc = frontLast(t, sink); doc["y"] != nil || doc["z"] != nil || doc["logship.dropped"] == nil {
		t.Fatalf("doc %v", doc)
	}
	l.WithGroup("g").With("y", "boom").Info("in a group") // frontLast checks the JSON is valid
	if _, doc = frontLast(t, sink); doc["g"].(map[string]any)["logship.dropped"] == nil {
		t.Fatalf("doc %v", doc)
	}
}

// TestBuiltinCopyWithOwnMatch: a built-in Rule whose Match the caller
// replaced is not skipped by the built-in's prefilter.
func TestBuiltinCopyWithOwnMatch(t *testing.T) {
	r := EmailRule()
	r.Match = func(s string) (int, int) { return strings.Index(s, "pin"), strings.Index(s, "pin") + 3 }
	rd, _ := compileRules([]Rule{r, CardRule()})
	if got := string(rd.appendString(nil, "k", "a pin here", false)); got != `"a [REDACTED] here"` {
		t.Fatalf("got %s", got)
	}
}

// TestRedactionRuleAlwaysPanics: a rule that panics on every string costs
// each record (replaced by the note), never the logging call — the note
// itself used to go through the rules and panic out of Handle.
func TestRedactionRuleAlwaysPanics(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: []Rule{{Match: func(string) (int, int) { panic("rule bug") }}}}))
	l.Error("anything", "x", "y")
	_, doc := frontLast(t, sink)
	if doc["log.level"] != "error" || !strings.Contains(doc["message"].(string), "panicked") || doc["x"] != nil {
		t.Fatalf("doc %v", doc)
	}
}
