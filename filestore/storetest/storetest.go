// Package storetest is the conformance suite every filestore backend
// runs against a real server: RunConformanceTests(t, Harness).
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/groundwork-go/groundwork/filestore"
)

// Harness describes a backend to the suite.
type Harness struct {
	// NewStore returns an empty store for one test, closed by the test's
	// cleanup.
	NewStore func(t *testing.T, opts ...filestore.Option) *filestore.Store
	// FileAndDirSameName: the backend holds "a" and "a/b" at once (object
	// stores); file systems do not, and must refuse with fs.ErrExist.
	FileAndDirSameName bool
	// LargeSize is the size of the large-object test (default 32 MiB):
	// above the backend's multipart threshold, if it has one.
	LargeSize int64
	// ListWithoutDigests: listed objects carry size and time only (S3
	// lists no metadata); Stat has the rest.
	ListWithoutDigests bool
	// NewStoreOnDisk, for backends whose objects are files in a directory
	// tree that other programs on this machine can write (localstore;
	// nfsstore, whose export is a directory on the server's disk),
	// returns an empty store, as NewStore does, and the directory that
	// holds its objects. The suite then plants symbolic links there and
	// checks that none leads a call out of the store. Nil skips the test.
	NewStoreOnDisk func(t *testing.T) (*filestore.Store, string)
	// Unfinished, when set, returns what the backend holds for a store
	// NewStore made of writes not finished (temporary files, multipart
	// uploads): the Writer tests check that a Writer closed, committed
	// or discarded, leaves none.
	Unfinished func(t *testing.T, s *filestore.Store) []string
}

// RunConformanceTests runs every test of the suite as a subtest.
func RunConformanceTests(t *testing.T, h Harness) {
	if h.NewStore == nil {
		t.Fatal("storetest: Harness.NewStore is nil")
	}
	if h.LargeSize == 0 {
		h.LargeSize = 32 << 20
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"PutStatOpen", testPutStatOpen},
		{"EmptyObject", testEmpty},
		{"Overwrite", testOverwrite},
		{"FailedPutLeavesNothing", testFailedPut},
		{"DigestAndSize", testDigestAndSize},
		{"IfNotExist", testIfNotExist},
		{"InvalidNames", testInvalidNames},
		{"NotExist", testNotExist},
		{"ListOrderAndPaging", testList},
		{"Ranges", testRanges},
		{"SeekAndReadAt", testSeekReadAt},
		{"RenameAndCopy", testRenameCopy},
		{"FileAndDirectory", testFileAndDir},
		{"FS", testFS},
		{"LargeObject", testLarge},
		{"ConcurrentReplace", testConcurrentReplace},
		{"RereadsPinned", testRereadPinned},
		{"Writer", testWriter},
		{"WriterLarge", testWriterLarge},
		{"WriterDiscards", testWriterDiscards},
		{"WriterOutlivesStore", testWriterOutlivesStore},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
	if h.NewStoreOnDisk != nil {
		t.Run("SymbolicLinks", func(t *testing.T) { testLinks(t, h) })
	}
}

var ctx = context.Background()

func put(t *testing.T, s *filestore.Store, name string, data []byte, o *filestore.PutOptions) *filestore.Info {
	t.Helper()
	info, err := s.Put(ctx, name, bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("Put %q: %v", name, err)
	}
	return info
}

func readAll(t *testing.T, s *filestore.Store, name string) []byte {
	t.Helper()
	r, err := s.Open(ctx, name)
	if err != nil {
		t.Fatalf("Open %q: %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return data
}

func digest(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func testPutStatOpen(t *testing.T, h Harness) {
	s := h.NewStore(t)
	data := []byte("hello, groundwork")
	info := put(t, s, "dir/hello.txt", data, &filestore.PutOptions{ContentType: "text/plain",
		Metadata: map[string]string{"Owner": "ada", "purpose": "test ✓"}})
	if info.Size != int64(len(data)) || !bytes.Equal(info.SHA256, digest(data)) {
		t.Fatalf("Put info %+v", info)
	}
	st, err := s.Stat(ctx, "dir/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "dir/hello.txt" || st.Size != int64(len(data)) || !bytes.Equal(st.SHA256, digest(data)) ||
		st.ContentType != "text/plain" || st.Metadata["owner"] != "ada" || st.Metadata["purpose"] != "test ✓" || st.ModTime.IsZero() {
		t.Fatalf("Stat %+v", st)
	}
	if got := readAll(t, s, "dir/hello.txt"); !bytes.Equal(got, data) {
		t.Fatalf("read %q", got)
	}
	r, err := s.Open(ctx, "dir/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != int64(len(data)) || !bytes.Equal(r.Info().SHA256, digest(data)) {
		t.Fatalf("Reader info %+v", r.Info())
	}
	if _, err := s.Put(ctx, "x", bytes.NewReader(nil), &filestore.PutOptions{Metadata: map[string]string{"bad key": "v"}}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("metadata key with a space: %v", err)
	}
}

func testEmpty(t *testing.T, h Harness) {
	s := h.NewStore(t)
	info := put(t, s, "empty", nil, nil)
	if info.Size != 0 || !bytes.Equal(info.SHA256, digest(nil)) {
		t.Fatalf("%+v", info)
	}
	if got := readAll(t, s, "empty"); len(got) != 0 {
		t.Fatalf("read %q", got)
	}
}

func testOverwrite(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "k", []byte("first version, longer"), &filestore.PutOptions{ContentType: "a/b"})
	put(t, s, "k", []byte("second"), nil)
	if got := readAll(t, s, "k"); string(got) != "second" {
		t.Fatalf("read %q", got)
	}
	st, err := s.Stat(ctx, "k")
	if err != nil || st.Size != 6 || st.ContentType == "a/b" || !bytes.Equal(st.SHA256, digest([]byte("second"))) {
		t.Fatalf("Stat after overwrite: %+v %v", st, err)
	}
}

// failingReader yields n bytes, then fails with errSourceBroke.
type failingReader struct{ n int }

var errSourceBroke = errors.New("source broke")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errSourceBroke
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func testFailedPut(t *testing.T, h Harness) {
	s := h.NewStore(t)
	if _, err := s.Put(ctx, "new", &failingReader{n: 1 << 20}, nil); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if _, err := s.Stat(ctx, "new"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after a failed Put: %v, want ErrNotExist", err)
	}
	put(t, s, "old", []byte("intact"), nil)
	if _, err := s.Put(ctx, "old", &failingReader{n: 100}, nil); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, "old", bytes.NewReader([]byte("replacement")), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled ctx: %v", err)
	}
	if got := readAll(t, s, "old"); string(got) != "intact" {
		t.Fatalf("after failed replacements: %q", got)
	}
	for info, err := range s.List(ctx, "") {
		if err != nil || info.Name != "old" {
			t.Fatalf("listing after failed Puts: %v %v", info, err)
		}
	}
}

func testDigestAndSize(t *testing.T, h Harness) {
	s := h.NewStore(t)
	data := []byte("payload")
	if _, err := s.Put(ctx, "d", bytes.NewReader(data), &filestore.PutOptions{SHA256: digest([]byte("other"))}); !errors.Is(err, filestore.ErrDigestMismatch) {
		t.Fatalf("wrong digest: %v", err)
	}
	if _, err := s.Put(ctx, "d", bytes.NewReader(data), &filestore.PutOptions{Size: 3}); !errors.Is(err, filestore.ErrSizeMismatch) {
		t.Fatalf("wrong size: %v", err)
	}
	if _, err := s.Stat(ctx, "d"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("visible after a mismatch: %v", err)
	}
	if _, err := s.Put(ctx, "d", bytes.NewReader(data), &filestore.PutOptions{SHA256: []byte{1, 2}}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("a 2-byte digest: %v", err)
	}
	put(t, s, "d", data, &filestore.PutOptions{SHA256: digest(data), Size: int64(len(data))})
	if got := readAll(t, s, "d"); !bytes.Equal(got, data) {
		t.Fatalf("read %q", got)
	}
}

func testIfNotExist(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "once", []byte("first"), &filestore.PutOptions{IfNotExist: true})
	if _, err := s.Put(ctx, "once", bytes.NewReader([]byte("second")), &filestore.PutOptions{IfNotExist: true}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("IfNotExist on an existing name: %v", err)
	}
	if got := readAll(t, s, "once"); string(got) != "first" {
		t.Fatalf("read %q", got)
	}
	if st, err := s.Stat(ctx, "once"); err != nil || !bytes.Equal(st.SHA256, digest([]byte("first"))) {
		t.Fatalf("attributes after a refused Put: %+v %v", st, err)
	}
	// Racing creators: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Put(ctx, "race", bytes.NewReader([]byte(fmt.Sprint("writer ", i))), &filestore.PutOptions{IfNotExist: true})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, fs.ErrExist):
				t.Errorf("racing IfNotExist: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d racing IfNotExist Puts succeeded, want 1", wins.Load())
	}
}

var badNames = []string{"", ".", "..", "/abs", "a/../b", "a/./b", "a//b", "a/", "a\x00b", "../x"}

func testInvalidNames(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "ok", []byte("x"), nil)
	for _, n := range badNames {
		checks := map[string]error{}
		_, checks["Put"] = s.Put(ctx, n, bytes.NewReader(nil), nil)
		_, checks["Stat"] = s.Stat(ctx, n)
		_, checks["Open"] = s.Open(ctx, n)
		_, checks["OpenRange"] = s.OpenRange(ctx, n, 0, 1)
		checks["Delete"] = s.Delete(ctx, n)
		checks["Rename"] = s.Rename(ctx, "ok", n)
		checks["Copy"] = s.Copy(ctx, n, "ok")
		for op, err := range checks {
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s(%q): %v, want fs.ErrInvalid", op, n, err)
			}
		}
	}
	if _, err := s.OpenRange(ctx, "ok", -1, 1); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("negative offset: %v", err)
	}
}

func testNotExist(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "present", []byte("x"), nil)
	checks := map[string]error{}
	_, checks["Stat"] = s.Stat(ctx, "missing")
	_, checks["Open"] = s.Open(ctx, "missing")
	_, checks["OpenRange"] = s.OpenRange(ctx, "missing", 0, 1)
	checks["Delete"] = s.Delete(ctx, "missing")
	checks["Rename"] = s.Rename(ctx, "missing", "elsewhere")
	checks["Copy"] = s.Copy(ctx, "missing", "elsewhere")
	_, checks["Stat under an object"] = s.Stat(ctx, "present/child")
	for op, err := range checks {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing name: %v, want fs.ErrNotExist", op, err)
		}
	}
}

// listNames are chosen so that byte order and directory order differ
// ("a-b" < "a/b" < "a0"; "a.b" < "a/").
var listNames = []string{"a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a/z", "a0", "b", "b/c", "z/y/x", "é"}

func testList(t *testing.T, h Harness) {
	for _, pageSize := range []int{1, 2, 1000} {
		t.Run(fmt.Sprint("page", pageSize), func(t *testing.T) {
			s := h.NewStore(t, filestore.WithPageSize(pageSize))
			names := listNames
			if !h.FileAndDirSameName {
				names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "b/c" })
			}
			for _, i := range rand.Perm(len(names)) {
				put(t, s, names[i], []byte(names[i]), nil)
			}
			list := func(prefix string) []string {
				var out []string
				for info, err := range s.List(ctx, prefix) {
					if err != nil {
						t.Fatal(err)
					}
					if info.Size != int64(len(info.Name)) || !h.ListWithoutDigests && !bytes.Equal(info.SHA256, digest([]byte(info.Name))) {
						t.Fatalf("listed %+v", info)
					}
					out = append(out, info.Name)
				}
				return out
			}
			if got := list(""); !slices.Equal(got, names) {
				t.Fatalf("List(\"\") = %q, want %q", got, names)
			}
			if got, want := list("a/"), []string{"a/b", "a/c/d", "a/c/e", "a/z"}; !slices.Equal(got, want) {
				t.Fatalf("List(a/) = %q, want %q", got, want)
			}
			if got, want := list("a/c"), []string{"a/c/d", "a/c/e"}; !slices.Equal(got, want) {
				t.Fatalf("List(a/c) = %q, want %q", got, want)
			}
			if got := list("nothing"); len(got) != 0 {
				t.Fatalf("List(nothing) = %q", got)
			}
			n := 0
			for range s.List(ctx, "") { // stopping early is fine
				n++
				if n == 2 {
					break
				}
			}
		})
	}
}

func testRanges(t *testing.T, h Harness) {
	s := h.NewStore(t)
	data := []byte("0123456789abcdef")
	put(t, s, "r", data, nil)
	cases := []struct {
		off, n int64
		want   string
	}{{0, -1, string(data)}, {5, 3, "567"}, {10, -1, "abcdef"}, {15, 10, "f"}, {16, 5, ""}, {100, -1, ""}, {0, 0, ""}}
	for _, c := range cases {
		rc, err := s.OpenRange(ctx, "r", c.off, c.n)
		if err != nil {
			t.Fatalf("OpenRange(%d, %d): %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != c.want {
			t.Fatalf("OpenRange(%d, %d) = %q %v, want %q", c.off, c.n, got, err, c.want)
		}
	}
}

func testSeekReadAt(t *testing.T, h Harness) {
	s := h.NewStore(t)
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	put(t, s, "s", data, nil)
	r, err := s.Open(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 10)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[:10]) {
		t.Fatalf("first read: %v", err)
	}
	for _, off := range []int64{50_000, 3, 99_990, 10} {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[off:off+10]) {
			t.Fatalf("read after Seek(%d): %v", off, err)
		}
	}
	if pos, err := r.Seek(-5, io.SeekEnd); err != nil || pos != 99_995 {
		t.Fatalf("Seek from the end: %d %v", pos, err)
	}
	if rest, err := io.ReadAll(r); err != nil || !bytes.Equal(rest, data[99_995:]) {
		t.Fatalf("tail: %v", err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek to a negative position accepted")
	}
	var wg sync.WaitGroup
	for _, off := range []int64{0, 777, 99_000} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 1000)
			if n, err := r.ReadAt(p, off); n != 1000 && err == nil || !bytes.Equal(p[:n], data[off:off+int64(n)]) {
				t.Errorf("ReadAt(%d) = %d %v", off, n, err)
			}
		}()
	}
	wg.Wait()
	if n, err := r.ReadAt(make([]byte, 10), 99_995); n != 5 || err != io.EOF {
		t.Fatalf("ReadAt across the end: %d %v, want 5 io.EOF", n, err)
	}
}

func testRenameCopy(t *testing.T, h Harness) {
	s := h.NewStore(t)
	data := []byte("move me")
	put(t, s, "src/a", data, &filestore.PutOptions{ContentType: "text/x", Metadata: map[string]string{"k": "v"}})
	if err := s.Copy(ctx, "src/a", "copy/a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "src/a", "dst/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "src/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("source after Rename: %v", err)
	}
	for _, n := range []string{"copy/a", "dst/b"} {
		st, err := s.Stat(ctx, n)
		if err != nil || !bytes.Equal(st.SHA256, digest(data)) || st.ContentType != "text/x" || st.Metadata["k"] != "v" {
			t.Fatalf("%s: %+v %v", n, st, err)
		}
		if got := readAll(t, s, n); !bytes.Equal(got, data) {
			t.Fatalf("%s: %q", n, got)
		}
	}
	put(t, s, "other", []byte("replaced"), nil)
	if err := s.Rename(ctx, "dst/b", "other"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "other"); !bytes.Equal(got, data) {
		t.Fatalf("rename over an existing name: %q", got)
	}
	var names []string
	for info, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, info.Name)
	}
	if want := []string{"copy/a", "other"}; !slices.Equal(names, want) {
		t.Fatalf("listing %q, want %q", names, want)
	}
}

func testFileAndDir(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "a", []byte("file"), nil)
	_, err := s.Put(ctx, "a/b", bytes.NewReader([]byte("under")), nil)
	if h.FileAndDirSameName {
		if err != nil {
			t.Fatalf("a/b beside a: %v", err)
		}
		return
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("a/b under the object a: %v, want fs.ErrExist", err)
	}
	put(t, s, "d/x", []byte("x"), nil)
	if _, err := s.Put(ctx, "d", bytes.NewReader([]byte("over a directory")), nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("d over d/x: %v, want fs.ErrExist", err)
	}
	// Deleting the last object under a directory leaves no trace of it.
	if err := s.Delete(ctx, "d/x"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "d", []byte("now a file"), nil)
}

func testFS(t *testing.T, h Harness) {
	s := h.NewStore(t, filestore.WithPageSize(2))
	names := []string{"a.txt", "dir/b.txt", "dir/sub/c.txt", "dir/sub/d.txt", "e"}
	for _, n := range names {
		put(t, s, n, []byte("content of "+n), nil)
	}
	if err := fstest.TestFS(s.FS(), names...); err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(s.FS(), "dir/sub/c.txt")
	if err != nil || string(data) != "content of dir/sub/c.txt" {
		t.Fatalf("fs.ReadFile: %q %v", data, err)
	}
	if _, err := fs.Stat(s.FS(), "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("fs.Stat of a missing name: %v", err)
	}
}

// patternReader yields n deterministic bytes without holding them.
type patternReader struct{ off, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range b[:k] {
		b[i] = byte((p.off + int64(i)) * 31 >> 3)
	}
	p.off += k
	return int(k), nil
}

func testLarge(t *testing.T, h Harness) {
	s := h.NewStore(t)
	hsh := sha256.New()
	if _, err := io.Copy(hsh, &patternReader{n: h.LargeSize}); err != nil {
		t.Fatal(err)
	}
	want := hsh.Sum(nil)
	info, err := s.Put(ctx, "big", &patternReader{n: h.LargeSize}, &filestore.PutOptions{SHA256: want})
	if err != nil || info.Size != h.LargeSize {
		t.Fatalf("Put: %+v %v", info, err)
	}
	// Without the digest given ahead, it is computed and stored all the same.
	if _, err := s.Put(ctx, "big2", &patternReader{n: h.LargeSize}, &filestore.PutOptions{Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"big", "big2"} {
		if st, err := s.Stat(ctx, n); err != nil || st.Size != h.LargeSize || !bytes.Equal(st.SHA256, want) {
			t.Fatalf("Stat %s: %+v %v", n, st, err)
		}
	}
	if _, err := s.Put(ctx, "big3", &patternReader{n: h.LargeSize}, &filestore.PutOptions{SHA256: digest(nil)}); !errors.Is(err, filestore.ErrDigestMismatch) {
		t.Fatalf("large Put with a wrong digest: %v", err)
	}
	if _, err := s.Stat(ctx, "big3"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("large Put with a wrong digest became visible: %v", err)
	}
	r, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := sha256.New()
	if n, err := io.Copy(got, r); err != nil || n != h.LargeSize || !bytes.Equal(got.Sum(nil), want) {
		t.Fatalf("read back %d bytes: %v, digest match %v", n, err, bytes.Equal(got.Sum(nil), want))
	}
}

// testConcurrentReplace: while one writer replaces an object over and
// over, readers always see one whole version, never a mix or a part.
func testConcurrentReplace(t *testing.T, h Harness) {
	s := h.NewStore(t)
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 64<<10+i) }
	put(t, s, "hot", version(0), nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 20; i++ {
			put(t, s, "hot", version(i), nil)
		}
		close(done)
	}()
	for reader := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r, err := s.Open(ctx, "hot")
				if err != nil {
					t.Errorf("reader %d: Open: %v", reader, err)
					return
				}
				data, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					t.Errorf("reader %d: %v", reader, err)
					return
				}
				i := len(data) - 64<<10
				if i < 0 || i > 20 || !bytes.Equal(data, version(i)) {
					t.Errorf("reader %d read %d bytes that are no whole version", reader, len(data))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func testClosed(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "x", []byte("x"), nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Stat(ctx, "x"); !errors.Is(err, filestore.ErrClosed) {
		t.Fatalf("Stat after Close: %v", err)
	}
	if _, err := s.Put(ctx, "y", bytes.NewReader(nil), nil); !errors.Is(err, filestore.ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, err := s.NewWriter(ctx, "y", nil); !errors.Is(err, filestore.ErrClosed) {
		t.Fatalf("NewWriter after Close: %v", err)
	}
	for _, err := range s.List(ctx, "") {
		if !errors.Is(err, filestore.ErrClosed) {
			t.Fatalf("List after Close: %v", err)
		}
	}
}
