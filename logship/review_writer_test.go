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
