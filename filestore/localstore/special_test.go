//go:build unix

package localstore_test

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore/localstore"
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

// mustReturn runs fn and fails the test if it is still running after a
// deadline that only a call blocked for good misses; release (which
// unblocks it) is then called until fn returns, so that no goroutine
// outlives the test.
func mustReturn(t *testing.T, what string, fn, release func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
		return
	case <-time.After(30 * time.Second):
	}
	t.Errorf("%s: still blocked after 30s", what)
	for {
		release()
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// releaseFIFO opens the FIFO at p for writing and closes it: a reader
// blocked opening it wakes up (and reads EOF).
func releaseFIFO(p string) func() {
	return func() {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// TestAttributesFileFIFO: a FIFO where an object's attributes file would
// be (left by another program, for an object without the extended
// attribute) does not block Stat, Open or List: the attributes file is
// opened without blocking and read only if it is a regular file.
func TestAttributesFileFIFO(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("written by another program"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, localstore.AttrsFile("a.txt"))
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	mustReturn(t, "Stat(a.txt) with a FIFO as its attributes file", func() {
		if st, err := s.Stat(ctx, "a.txt"); err != nil || st.SHA256 != nil {
			t.Errorf("Stat: %+v %v; want the file without attributes", st, err)
		}
	}, releaseFIFO(fifo))
	mustReturn(t, "Open(a.txt) with a FIFO as its attributes file", func() {
		if r, err := s.Open(ctx, "a.txt"); err != nil {
			t.Errorf("Open: %v", err)
		} else {
			r.Close()
		}
	}, releaseFIFO(fifo))
	mustReturn(t, "List with a FIFO as an attributes file", func() {
		for info, err := range s.List(ctx, "") {
			if err != nil || info.Name != "a.txt" {
				t.Errorf("List: %+v %v", info, err)
			}
		}
	}, releaseFIFO(fifo))
}

// TestDirectorySwappedForFIFO: a directory that another program replaces
// by a FIFO between List reading its parent and opening it is passed by:
// directories are opened with O_DIRECTORY, which fails at once on a FIFO,
// instead of waiting for a writer.
func TestDirectorySwappedForFIFO(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "d/f", bytes.NewReader([]byte("x")), nil); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, "d")
	swapped := false
	localstore.SetTestHook(t, func(op, name string) {
		if op == "opendir" && name == "d" && !swapped {
			swapped = true
			if err := os.Rename(d, d+".moved"); err != nil {
				t.Error(err)
			}
			if err := syscall.Mkfifo(d, 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	mustReturn(t, "List with directory d swapped for a FIFO", func() {
		for info, err := range s.List(ctx, "") {
			t.Errorf("listed %+v %v; want nothing (d is a FIFO now, d.moved was not there when the root was read)", info, err)
		}
	}, releaseFIFO(d))
	if !swapped {
		t.Fatal("List never opened directory d")
	}
}

// TestSocket: a socket in the tree is no object: Stat and Open say
// fs.ErrNotExist (not the ENXIO of opening it), List passes it by.
func TestSocket(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := s.Stat(ctx, "sock"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a socket: %v; want fs.ErrNotExist", err)
	}
	if _, err := s.Open(ctx, "sock"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a socket: %v; want fs.ErrNotExist", err)
	}
	for info, err := range s.List(ctx, "") {
		t.Errorf("listed %+v %v", info, err)
	}
}
