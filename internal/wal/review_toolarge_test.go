package wal

import (
	"errors"
	"testing"
)

// A record that alone is over MaxBytes is ErrTooLarge (and still ErrFull,
// as mq's outage buffer matches it); one that fits an empty WAL but not
// this one is ErrFull only.
func TestReviewAppendTooLargeForCap(t *testing.T) {
	w, err := Open(t.TempDir(), &Options{MaxBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Append(make([]byte, 300)); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrFull) {
		t.Fatalf("Append over the cap: %v", err)
	}
	for {
		_, err := w.Append(make([]byte, 50))
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrFull) || errors.Is(err, ErrTooLarge) {
			t.Fatalf("Append into a full WAL: %v", err)
		}
		break
	}
}
