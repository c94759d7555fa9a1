package logship

import (
	"io"
	"strings"
	"testing"
)

// reviewMessages returns the messages a Shipper delivered.
func reviewMessages(t *testing.T, sink *frontSink) []string {
	t.Helper()
	var out []string
	for _, r := range sink.all() {
		out = append(out, frontDoc(t, r)["message"].(string))
	}
	return out
}

// TestReviewWriterWholeLongLineCapped: a complete line longer than the
// cap, written in one Write, was shipped whole (the no-copy fast path
// skipped the length check): one record of any size, which a sink with a
// message limit (Kafka's 1 MB) refuses — the record is lost.
func TestReviewWriterWholeLongLineCapped(t *testing.T) {
	s, sink := frontShipper(t)
	w := s.Writer("svc")
	long := strings.Repeat("y", 2*maxLineBytes+10)
	io.WriteString(w, long+"\nshort\n")
	msgs := reviewMessages(t, sink)
	if strings.Join(msgs, "") != long+"short" {
		t.Fatalf("content changed: %d messages", len(msgs))
	}
	for _, m := range msgs {
		if len(m) > maxLineBytes {
			t.Fatalf("a record of %d bytes, cap %d", len(m), maxLineBytes)
		}
	}
}

// TestReviewWriterCutKeepsSecretsWhole: a line over the cap was cut at
// exactly 64 KiB, wherever that fell: a card number, an e-mail address or
// a bearer token straddling the cut reached two records in halves that no
// rule recognises (12 digits of a card with its issuer in one, the
// domain of an address in the other), and a multi-byte character was cut
// into two U+FFFDs.
func TestReviewWriterCutKeepsSecretsWhole(t *testing.T) {
	for name, c := range map[string]struct{ secret, leak string }{
		"card":   {"4111 1111 1111 1111", "4111"},
		"email":  {"someone.important@example.com", "important"},
		"bearer": {"Authorization: Bearer tok3nTOK3Ntok3n", "tok3n"},
		"rune":   {"é€😀", "\ufffd"},
	} {
		for shift := 1; shift < len(c.secret); shift += 3 {
			h, capt := reviewHandler(t, &HandlerOptions{Service: "svc", Redact: DefaultRules()})
			w := &lineWriter{s: new(Shipper), h: h} // an open Shipper; h submits to capt
			pad := strings.Repeat("word ", maxLineBytes/5)[:maxLineBytes-shift]
			io.WriteString(w, pad)
			io.WriteString(w, c.secret+" tail\n")
			var msgs []string
			for _, d := range capt.docs {
				msgs = append(msgs, frontDoc(t, Record{JSON: d})["message"].(string))
			}
			if len(msgs) != 2 {
				t.Fatalf("%s/%d: %d records", name, shift, len(msgs))
			}
			for _, m := range msgs {
				if len(m) > maxLineBytes || strings.Contains(m, c.leak) {
					t.Errorf("%s/%d: piece of %d bytes ends %q", name, shift, len(m), m[max(0, len(m)-40):])
				}
			}
			if name == "rune" && !strings.Contains(msgs[1], c.secret) {
				t.Errorf("rune/%d: %q", shift, msgs[1][:min(40, len(msgs[1]))])
			}
		}
	}
}
