package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flipInSegment flips a byte of a record's data in the given segment file.
func flipInSegment(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestGivingUpDamageGetsPastIt: Replay stops at a damaged record of a
// sealed segment with a DamageError; Damaged hands over the damaged bytes,
// Ack gives that part up, and Replay then goes on with the next segment.
func TestGivingUpDamageGetsPastIt(t *testing.T) {
	dir := t.TempDir()
	w, _ := Open(dir, &Options{SegmentBytes: 128})
	appendN(t, w, 0, 30)
	w.Close()
	segs := segFiles(t, dir)
	flipInSegment(t, segs[1], segHeaderSize+recHeaderSize+2) // the data of the second segment's first record
	w = open(t, dir, &Options{SegmentBytes: 128})
	err := w.Replay(func(uint64, []byte) error { return nil })
	var d *DamageError
	if !errors.As(err, &d) || !errors.Is(err, ErrCorrupt) || d.Segment != filepath.Base(segs[1]) {
		t.Fatalf("Replay over damage: %v, want a DamageError in %s", err, filepath.Base(segs[1]))
	}
	got := replayUntilDamage(t, w)
	if len(got) != int(d.First) {
		t.Fatalf("records before the damage: %d, want %d", len(got), d.First)
	}
	if err := w.Ack(d.First - 1); err != nil {
		t.Fatal(err)
	}
	raw, last, err := w.Damaged(d)
	if err != nil || last != d.Last || !bytes.Contains(raw, []byte("record-")) {
		t.Fatalf("Damaged: %d bytes, last %d, %v; want the damaged part through %d", len(raw), last, err, d.Last)
	}
	if err := w.Ack(last); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, replayAll(t, w), int(d.Last)+1, 30)
	appendN(t, w, 30, 2)
	wantRecords(t, replayAll(t, w), int(d.Last)+1, 32)
}

// replayUntilDamage returns the records Replay yields before it fails.
func replayUntilDamage(t *testing.T, w *WAL) []rec {
	t.Helper()
	var out []rec
	_ = w.Replay(func(pos uint64, data []byte) error {
		out = append(out, rec{pos, string(data)})
		return nil
	})
	return out
}

// TestDamagedSealsTheActiveSegment: damage in the segment still
// being appended to (found after Open, so not cut as a torn tail) takes
// that whole segment, later appends included, and appends go on in a new
// one that replays cleanly.
func TestDamagedSealsTheActiveSegment(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, nil)
	appendN(t, w, 0, 5)
	flipInSegment(t, lastSegment(t, dir), segHeaderSize+recHeaderSize)
	err := w.Replay(func(uint64, []byte) error { return nil })
	var d *DamageError
	if !errors.As(err, &d) {
		t.Fatalf("Replay: %v, want a DamageError", err)
	}
	appendN(t, w, 5, 1) // lands in the damaged segment
	raw, last, err := w.Damaged(d)
	if err != nil || last != 5 || !strings.Contains(string(raw), "record-5") {
		t.Fatalf("Damaged: last %d, %v; want everything through 5, its bytes included", last, err)
	}
	if err := w.Ack(last); err != nil {
		t.Fatal(err)
	}
	if w.Len() != 0 {
		t.Fatalf("Len %d after discarding the whole segment", w.Len())
	}
	appendN(t, w, 6, 3)
	wantRecords(t, replayAll(t, w), 6, 9)
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments; want the damaged one gone and one new", n)
	}
}

// TestShortSegmentIsDamage: a sealed segment that ends before the records
// the next one says it holds is damage too, not an error to retry.
func TestShortSegmentIsDamage(t *testing.T) {
	dir := t.TempDir()
	w, _ := Open(dir, &Options{SegmentBytes: 128})
	appendN(t, w, 0, 30)
	w.Close()
	first := segFiles(t, dir)[0]
	if err := os.Truncate(first, segHeaderSize); err != nil {
		t.Fatal(err)
	}
	w = open(t, dir, &Options{SegmentBytes: 128})
	var d *DamageError
	if err := w.Replay(func(uint64, []byte) error { return nil }); !errors.As(err, &d) || d.First != 0 {
		t.Fatalf("Replay of a short sealed segment: %v", err)
	}
	_, last, err := w.Damaged(d)
	if err == nil {
		err = w.Ack(last)
	}
	if err != nil {
		t.Fatal(err)
	}
	wantRecords(t, replayAll(t, w), int(d.Last)+1, 30)
}
