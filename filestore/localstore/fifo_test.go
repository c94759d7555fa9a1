//go:build unix

package localstore_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFIFO: a FIFO another program left in the tree is no object: Stat,
// Open and List pass it by at once (opening it for reading would wait for
// a writer, for ever).
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "pipe"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a FIFO: %v", err)
	}
	if _, err := s.Open(ctx, "pipe"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a FIFO: %v", err)
	}
	for info, err := range s.List(ctx, "") {
		t.Fatalf("listed %+v %v", info, err)
	}
}
