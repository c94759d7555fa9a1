package storetest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
)

// testRereadPinned: a Reader reads the version it opened, whatever its
// backend does to read again (re-open at an offset, a range per ReadAt, a
// file handle): once the object is replaced by a larger one, every read
// returns the old version's bytes or fails with ErrReplaced — never the
// new version's, never the old one cut short.
func testRereadPinned(t *testing.T, h Harness) {
	s := h.NewStore(t)
	// Larger than one READ on NFS (1 MiB), so that reading it takes more
	// than one request everywhere.
	v1 := bytes.Repeat([]byte("version one. "), 3<<20/13)
	v2 := bytes.Repeat([]byte("VERSION TWO, LONGER. "), 4<<20/21)
	replace := func() { put(t, s, "doc", v2, nil) }

	// Replaced between Open and the first Read.
	put(t, s, "doc", v1, nil)
	r, err := s.Open(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	replace()
	got, err := io.ReadAll(r)
	r.Close()
	checkPinned(t, "ReadAll after a replacement", got, err, v1)

	// Replaced after part was read: Read on, then Seek back and forth.
	put(t, s, "doc", v1, nil)
	r, err = s.Open(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, v1[:1000]) {
		t.Fatalf("first 1000 bytes: %q %v", head, err)
	}
	replace()
	rest, err := io.ReadAll(r)
	checkPinned(t, "reading on after a replacement", rest, err, v1[1000:])
	for _, off := range []int64{5, 2 << 20} {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		checkPinned(t, "reading after Seek", got, err, v1[off:])
	}
	p := make([]byte, 100)
	for _, off := range []int64{7, 2<<20 + 3, int64(len(v1)) - 50} {
		n, err := r.ReadAt(p, off)
		if err == io.EOF && n == int(int64(len(v1))-off) {
			err = nil // the old version's end
		}
		checkPinned(t, "ReadAt", p[:n], err, v1[off:off+int64(n)])
		if err == nil && n != min(100, len(v1)-int(off)) {
			t.Fatalf("ReadAt(%d) read %d bytes of the old version: cut short", off, n)
		}
	}
	if got := readAll(t, s, "doc"); !bytes.Equal(got, v2) {
		t.Fatalf("a new Reader read %d bytes, want the new version's %d", len(got), len(v2))
	}
}

// checkPinned fails unless got is want (the old version's bytes, whole)
// or err is ErrReplaced.
func checkPinned(t *testing.T, what string, got []byte, err error, want []byte) {
	t.Helper()
	switch {
	case errors.Is(err, filestore.ErrReplaced):
	case err != nil:
		t.Fatalf("%s: %v, want the old version or ErrReplaced", what, err)
	case !bytes.Equal(got, want):
		t.Fatalf("%s: read %d bytes that are not the old version's %d (new content or cut short), and no ErrReplaced", what, len(got), len(want))
	}
}
