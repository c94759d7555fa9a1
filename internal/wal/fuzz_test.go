package wal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadRecord feeds arbitrary bytes to the record decoder: it must never
// panic, and whatever it accepts must re-encode to the same bytes.
func FuzzReadRecord(f *testing.F) {
	f.Add(appendRecord(nil, []byte("hello")))
	f.Add(appendRecord(nil, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			data, err := readRecord(r, nil)
			if err == io.EOF || errors.Is(err, errTorn) {
				return
			}
			if err != nil {
				t.Fatalf("unexpected error kind: %v", err)
			}
			enc := appendRecord(nil, data)
			start := len(b) - r.Len() - len(enc)
			if !bytes.Equal(enc, b[start:start+len(enc)]) {
				t.Fatal("accepted record does not re-encode to its bytes")
			}
		}
	})
}

// FuzzOpenSegment writes arbitrary bytes after a valid header as the only
// segment: Open must cut what is bad and Replay must then read cleanly.
func FuzzOpenSegment(f *testing.F) {
	good := appendRecord(appendRecord(nil, []byte("a")), []byte("bc"))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		seg := filepath.Join(dir, segmentName(0))
		if err := os.WriteFile(seg, append(encodeSegmentHeader(0), body...), 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer w.Close()
		n := 0
		if err := w.Replay(func(uint64, []byte) error { n++; return nil }); err != nil {
			t.Fatalf("Replay after Open cut the tail: %v", err)
		}
		if n != w.Len() {
			t.Fatalf("replayed %d, Len %d", n, w.Len())
		}
		if _, err := w.Append([]byte("after")); err != nil {
			t.Fatal(err)
		}
	})
}
