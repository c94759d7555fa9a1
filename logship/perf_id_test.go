package logship

import (
	"context"
	"log/slog"
	"testing"
)

// TestCopyRecordIDView: copyRecord keeps the ID as a view of the JSON's
// copy only when the ID really is at idAt; any other offset (a wrong
// one, out of range, none) falls back to copying the ID alongside. Either
// way the copy owns its bytes: the borrowed buffer can be overwritten.
func TestCopyRecordIDView(t *testing.T) {
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	doc := `{"a":1,"event.id":"` + id + `"}`
	at := len(`{"a":1,"event.id":"`)
	for _, c := range []struct {
		name     string
		idAt     int
		wantSize int // bytes the copy allocates
	}{
		{"view", at, len(doc)},
		{"wrong offset", at - 1, len(id) + len(doc)},
		{"out of range", len(doc) - 3, len(id) + len(doc)},
		{"huge", int(^uint(0) >> 1), len(id) + len(doc)},
		{"none", -1, len(id) + len(doc)},
	} {
		t.Run(c.name, func(t *testing.T) {
			borrowed := []byte(doc)
			idView := string(borrowed[at : at+len(id)])
			r := copyRecord(Record{ID: idView, JSON: borrowed}, c.idAt)
			for i := range borrowed {
				borrowed[i] = 'x'
			}
			if r.ID != id || string(r.JSON) != doc {
				t.Fatalf("copy = %q, %q; want %q, %q", r.ID, r.JSON, id, doc)
			}
			if cap(r.JSON) != len(doc) {
				t.Errorf("cap(JSON) = %d, want %d (no slack)", cap(r.JSON), len(doc))
			}
			if n := testing.AllocsPerRun(10, func() { copyRecord(Record{ID: id, JSON: []byte(doc)}, c.idAt) }); n > 2 {
				t.Errorf("%v allocations", n)
			}
		})
	}
}

// TestHandlerIDIsDocumentID: every delivered Record's ID is its
// document's event.id, and stays so after the Handler's pooled buffer
// has been reused for many more records.
func TestHandlerIDIsDocumentID(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: DefaultRules()}))
	const n = 200
	for i := range n {
		l.LogAttrs(context.Background(), slog.LevelInfo, "m", slog.Int("i", i), slog.String("who", "a@b.example"))
	}
	recs := sink.all()
	if len(recs) != n {
		t.Fatalf("%d records delivered, want %d", len(recs), n)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		m := frontDoc(t, r)
		if got, _ := m["event.id"].(string); got != r.ID || len(r.ID) != eventIDLen {
			t.Fatalf("Record.ID %q, event.id %q", r.ID, got)
		}
		if seen[r.ID] {
			t.Fatalf("event id %q twice", r.ID)
		}
		seen[r.ID] = true
	}
}

// TestRedactedEscapes: with redaction on, values and keys with nothing to
// redact take the one-scan path only when they need no escaping; the
// others are still escaped (quotes, control bytes, U+2028, invalid UTF-8).
func TestRedactedEscapes(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: DefaultRules()}))
	vals := map[string]string{
		"plain": "/v1/orders/42", "quote": `say "hi"`, "nl": "a\nb\tc", "ctl": "\x01",
		"uni": "héllo\u2028", "bad": "a\xffb", "k\"ey": "v", "kéy": "v",
	}
	want := map[string]string{"bad": "a\ufffdb"}
	for k, v := range vals {
		l.LogAttrs(context.Background(), slog.LevelInfo, "m", slog.String(k, v))
		_, m := frontLast(t, sink)
		w := v
		if x, ok := want[k]; ok {
			w = x
		}
		if got, _ := m[k].(string); got != w {
			t.Errorf("%q: got %q, want %q", k, got, w)
		}
	}
}
