package logship

import (
	"log/slog"
	"testing"
)

// TestReviewNoDuplicateKeys: Elasticsearch refuses a document with a
// duplicate key, so every one is a lost record. The renaming of a repeated
// key ("k" -> "k_2") must not itself collide with a key the caller wrote,
// and keys repeated inside a group must be renamed too.
func TestReviewNoDuplicateKeys(t *testing.T) {
	h, c := reviewHandler(t, &HandlerOptions{Service: "svc"})
	l := slog.New(h)
	for name, log := range map[string]func(){
		"suffix collides": func() { l.Info("m", "a", 1, "a", 2, "a_2", 3) },
		"in a group":      func() { l.Info("m", slog.Group("g", "x", 1, "x", 2)) },
		"nested groups":   func() { l.Info("m", slog.Group("g", slog.Group("h", "x", 1, "x", 2), slog.Group("h", "y", 1))) },
		"inlined group":   func() { l.Info("m", slog.Group("g", "x", 1, slog.Group("", "x", 2))) },
		"group after with": func() {
			l.WithGroup("g").With("x", 1, "x_2", 2).Info("m", "x", 3)
		},
		"invalid utf-8": func() { l.Info("m", "k\xff", 1, "k\xfe", 2, "k\ufffd", 3) },
		"same names at two levels": func() {
			l.Info("m", "x", 1, slog.Group("g", "x", 2), "x", 3)
		},
	} {
		log()
		doc := c.last(t)
		if d := reviewDupKey(doc); d != "" {
			t.Errorf("%s: duplicate key %q in %s", name, d, doc)
		}
	}
	// The same key at different levels is no duplicate: left alone.
	l.Info("m", "x", 1, slog.Group("g", "x", 2))
	if doc := frontDoc(t, Record{JSON: c.last(t)}); doc["g"].(map[string]any)["x"] != 2.0 {
		t.Errorf("key in a group renamed: %v", doc)
	}
}

// reviewNest is a LogValuer whose value is a group holding another
// reviewNest: a tree (or a cycle through a pointer) logged as it is.
type reviewNest struct{ inline bool }

func (n reviewNest) LogValue() slog.Value {
	key := "in"
	if n.inline {
		key = ""
	}
	return slog.GroupValue(slog.Any(key, n), slog.Int("x", 1))
}

// TestReviewRecursiveLogValuer: a LogValuer resolving to a group that
// holds itself recursed until the stack overflowed — a fatal error that
// kills the process (no recover catches it).
func TestReviewRecursiveLogValuer(t *testing.T) {
	h, c := reviewHandler(t, &HandlerOptions{Service: "svc", Redact: DefaultRules()})
	l := slog.New(h)
	for _, inline := range []bool{false, true} {
		l.Info("m", "v", reviewNest{inline})
		doc := frontDoc(t, Record{JSON: c.last(t)})
		if _, ok := doc["v"].(map[string]any); !ok {
			t.Fatalf("inline %v: v = %v", inline, doc["v"])
		}
		l.With("v", reviewNest{inline}).Info("m")
		frontDoc(t, Record{JSON: c.last(t)})
	}
}
