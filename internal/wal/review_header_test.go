package wal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A segment whose header is damaged no longer makes Open fail (which kept
// every other record from being read): Replay reports it, whole, as a
// DamageError, Damaged hands its bytes over, Ack gives it up, and the
// records of the other segments, and new ones, are read. For the newest
// segment nothing is cut and nothing more is appended to it, even when
// no record in it is readable.
func TestReviewDamagedSegmentHeader(t *testing.T) {
	for _, newest := range []bool{false, true} {
		dir := t.TempDir()
		w, err := Open(dir, &Options{SegmentBytes: 64})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 6 { // 40 bytes each: two to a segment
			if _, err := w.Append([]byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		victim := segs[1]
		if newest {
			victim = segs[len(segs)-1]
			if err := os.WriteFile(victim, []byte("not a segment at all, nor records"), 0o600); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(victim, []byte("garbage!"), 0o600); err != nil {
			t.Fatal(err)
		}
		w, err = Open(dir, &Options{SegmentBytes: 64})
		if err != nil {
			t.Fatalf("newest=%v: Open: %v", newest, err)
		}
		if _, err := w.Append([]byte{99}); err != nil {
			t.Fatalf("newest=%v: Append: %v", newest, err)
		}
		var got []byte
		damaged := 0
		for range 20 {
			err := w.Replay(func(pos uint64, data []byte) error {
				got = append(got, data[0])
				return w.Ack(pos)
			})
			var d *DamageError
			if errors.As(err, &d) {
				damaged++
				raw, last, err := w.Damaged(d)
				if err != nil || len(raw) == 0 {
					t.Fatalf("newest=%v: Damaged: %d bytes, %v", newest, len(raw), err)
				}
				if err := w.Ack(last); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		want := 5 // the 4 records of the intact segments, and 99
		if damaged != 1 || len(got) != want || got[len(got)-1] != 99 {
			t.Fatalf("newest=%v: damaged %d, read %v", newest, damaged, got)
		}
		w.Close()
	}
}
