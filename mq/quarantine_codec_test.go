package mq

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/groundwork-go/groundwork/mq/driver"
)

func TestQuarantineEntryRoundTrip(t *testing.T) {
	at := time.Unix(0, 1234567890)
	m := driver.Message{ID: "i", Topic: "t", Key: "k", Payload: []byte{0, 1}, Headers: map[string]string{"h": "v"}, Time: at}
	e, err := decodeEntry(encodeEntry(quarantineEntry{msg: &m, reason: "refused", at: at}))
	if err != nil || e.msg == nil || e.msg.ID != "i" || e.msg.Headers["h"] != "v" || !bytes.Equal(e.msg.Payload, m.Payload) ||
		e.reason != "refused" || !e.at.Equal(at) || e.raw != nil {
		t.Fatalf("message entry: %+v, %v", e, err)
	}
	e, err = decodeEntry(encodeEntry(quarantineEntry{raw: []byte("bytes"), reason: "bad", at: at}))
	if err != nil || e.msg != nil || string(e.raw) != "bytes" || e.reason != "bad" {
		t.Fatalf("raw entry: %+v, %v", e, err)
	}
}

// FuzzDecodeQuarantineEntry: quarantine entries are read back from disk,
// so any bytes must give an entry or an error wrapping errEntry, never a
// panic; an accepted entry must encode back to one that decodes the same.
func FuzzDecodeQuarantineEntry(f *testing.F) {
	m := driver.Message{ID: "x", Topic: "t", Payload: []byte("p"), Headers: map[string]string{"a": "b"}, Time: time.Unix(0, 7)}
	f.Add(encodeEntry(quarantineEntry{msg: &m, reason: "refused", at: time.Unix(0, 1)}))
	f.Add(encodeEntry(quarantineEntry{raw: []byte{1, 2, 3}, reason: "damaged", at: time.Unix(0, 1)}))
	f.Add(encodeEntry(quarantineEntry{raw: nil, reason: "", at: time.Unix(0, 1)}))
	f.Add([]byte{quarantineVersion, kindMessage, 2, 0})
	f.Add([]byte{quarantineVersion, 9, 2, 0})
	f.Add([]byte{quarantineVersion, kindRaw, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{quarantineVersion, kindRaw, 2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, errEntry) {
				t.Fatalf("error does not wrap errEntry: %v", err)
			}
			return
		}
		again, err := decodeEntry(encodeEntry(e))
		if err != nil || again.reason != e.reason || !again.at.Equal(e.at) || (again.msg == nil) != (e.msg == nil) ||
			!bytes.Equal(again.raw, e.raw) {
			t.Fatalf("re-encoded entry: %+v, %v; was %+v", again, err, e)
		}
	})
}

func TestTruncateReason(t *testing.T) {
	if s := truncateReason("short"); s != "short" {
		t.Fatal(s)
	}
	long := strings.Repeat("é", maxReasonBytes) // two bytes a rune: the cut lands mid-rune
	s := truncateReason(long)
	if len(s) > maxReasonBytes || !utf8.ValidString(s) || !strings.HasSuffix(s, "…") {
		t.Fatalf("truncated to %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
	}
}
