package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	hdfs "github.com/colinmarc/hdfs/v2"
)

// pattern returns n bytes that differ at every offset of interest (block,
// packet and chunk boundaries), seeded so two files differ.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeHDFS writes data to name through the client, in Write calls of
// chunk bytes (0: one call).
func writeHDFS(t *testing.T, c *hdfs.Client, name string, data []byte, chunk int) {
	t.Helper()
	w, err := c.Create(name)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	if chunk <= 0 {
		chunk = max(len(data), 1)
	}
	for off := 0; off < len(data); off += chunk {
		if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
			t.Fatalf("Write(%s) at %d: %v", name, off, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%s): %v", name, err)
	}
}

func TestHDFSWriteReadSizes(t *testing.T) {
	const mib = 1 << 20
	h, c := startHDFSClient(t, "alice")
	for i, tc := range []struct {
		size, chunk int
	}{
		{0, 0}, {1, 0}, {511, 0}, {513, 100}, {mib, 0}, {mib + 1, 65537}, {3*mib + mib/2, 0}, {2 * mib, 1000},
	} {
		t.Run(fmt.Sprintf("%dB_by_%d", tc.size, tc.chunk), func(t *testing.T) {
			name := fmt.Sprintf("/f%d", i)
			data := pattern(tc.size, uint64(i))
			writeHDFS(t, c, name, data, tc.chunk)
			st, err := c.Stat(name)
			if err != nil || st.Size() != int64(tc.size) || st.IsDir() {
				t.Fatalf("Stat = %v, %v; want a file of %d bytes", st, err, tc.size)
			}
			if got := h.Files()[name]; got != int64(tc.size) {
				t.Errorf("Files()[%s] = %d, want %d", name, got, tc.size)
			}
			got, err := c.ReadFile(name)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadFile: %d bytes, %v; want the %d written", len(got), err, len(data))
			}
			// Small reads cross chunk, packet and block boundaries.
			f, err := c.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var small bytes.Buffer
			if _, err := io.CopyBuffer(&small, struct{ io.Reader }{f}, make([]byte, 777)); err != nil || !bytes.Equal(small.Bytes(), data) {
				t.Fatalf("Read by 777 bytes: %d bytes, %v", small.Len(), err)
			}
			for _, off := range []int{0, 1, 511, 512, tc.size / 2, mib - 3, mib, mib + 700, tc.size - 5} {
				if off < 0 || off >= tc.size {
					continue
				}
				buf := make([]byte, min(1500, tc.size-off))
				if n, err := f.ReadAt(buf, int64(off)); (err != nil && err != io.EOF) || n != len(buf) || !bytes.Equal(buf, data[off:off+n]) {
					t.Fatalf("ReadAt(%d, %d bytes) = %d, %v", off, len(buf), n, err)
				}
			}
			if tc.size > 10 {
				if _, err := f.Seek(-10, io.SeekEnd); err != nil {
					t.Fatal(err)
				}
				tail, err := io.ReadAll(f)
				if err != nil || !bytes.Equal(tail, data[tc.size-10:]) {
					t.Fatalf("read after Seek(-10, end) = %d bytes, %v", len(tail), err)
				}
			}
		})
	}
}

func TestHDFSChecksum(t *testing.T) {
	_, c := startHDFSClient(t, "alice")
	a, b := pattern(1<<20+100, 1), pattern(1<<20+100, 2)
	writeHDFS(t, c, "/a", a, 0)
	writeHDFS(t, c, "/a2", a, 4096)
	writeHDFS(t, c, "/b", b, 0)
	sum := func(name string) []byte {
		f, err := c.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s, err := f.Checksum()
		if err != nil {
			t.Fatalf("Checksum(%s): %v", name, err)
		}
		return s
	}
	if sa, sa2, sb := sum("/a"), sum("/a2"), sum("/b"); !bytes.Equal(sa, sa2) || bytes.Equal(sa, sb) {
		t.Errorf("checksums: same content %x / %x, other content %x", sa, sa2, sb)
	}
}

func TestHDFSCreateExisting(t *testing.T) {
	h, c := startHDFSClient(t, "alice")
	writeHDFS(t, c, "/f", []byte("hello"), 0)
	if _, err := c.CreateFile("/f", 1, 1<<20, 0o644); !errors.Is(err, os.ErrExist) || exception(err) != "" {
		t.Errorf("CreateFile of an existing file: %v, want os.ErrExist", err)
	}
	if _, err := c.Create("/f"); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create of an existing file: %v, want os.ErrExist", err)
	}
	if err := c.Mkdir("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFile("/d", 1, 1<<20, 0o644); !errors.Is(err, os.ErrExist) {
		t.Errorf("CreateFile over a directory: %v, want os.ErrExist", err)
	}
	if _, err := c.CreateFile("/f/x", 1, 1<<20, 0o644); exception(err) != exParentNotDir {
		t.Errorf("CreateFile under a file: %v, want %s", err, exParentNotDir)
	}
	if _, err := c.CreateFile("/missing/x", 1, 1<<20, 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CreateFile in a missing directory: %v, want os.ErrNotExist", err)
	}
	if _, err := c.CreateFile("/odd", 1, 1000, 0o644); exception(err) != exIO {
		t.Errorf("CreateFile with a block size not a multiple of 512: %v, want %s", err, exIO)
	}

	// A file being written by one client: another's create gets
	// AlreadyBeingCreatedException, which the client reads as os.ErrExist.
	w, err := c.Create("/open")
	if err != nil {
		t.Fatal(err)
	}
	other := dialHDFS(t, h, "alice")
	if _, err := other.CreateFile("/open", 1, 1<<20, 0o644); !errors.Is(err, os.ErrExist) {
		t.Errorf("CreateFile of a file under construction: %v, want os.ErrExist", err)
	}
	if got := h.UnderConstruction(); got["/open"] != c.Name() {
		t.Errorf("UnderConstruction() = %v, want /open held by %s", got, c.Name())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.UnderConstruction(); len(got) != 0 {
		t.Errorf("UnderConstruction() after Close = %v, want none", got)
	}
}

// TestHDFSVisibleLength: while a file is written, getFileInfo and readers
// see its committed blocks only.
func TestHDFSVisibleLength(t *testing.T) {
	h, c := startHDFSClient(t, "alice")
	data := pattern(1<<20+1<<19, 3)
	w, err := c.Create("/growing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil { // the first block is committed by the second's addBlock
		t.Fatal(err)
	}
	if st, err := c.Stat("/growing"); err != nil || st.Size() != 1<<20 {
		t.Fatalf("Stat while written = %v, %v; want the 1 MiB committed", st, err)
	}
	if got, err := c.ReadFile("/growing"); err != nil || !bytes.Equal(got, data[:1<<20]) {
		t.Fatalf("ReadFile while written: %d bytes, %v; want the first 1 MiB", len(got), err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadFile("/growing"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile after Close: %d bytes, %v", len(got), err)
	}
	h.dn.mu.Lock()
	n := len(h.dn.replicas)
	h.dn.mu.Unlock()
	if n != 2 {
		t.Errorf("%d replicas on the DataNode, want 2", n)
	}
}

// TestHDFSRenameOverDropsBlocks: rename2 with overwrite replaces the
// target and frees its blocks.
func TestHDFSRenameOverDropsBlocks(t *testing.T) {
	h, c := startHDFSClient(t, "alice")
	old, fresh := pattern(3<<19, 4), pattern(1000, 5)
	writeHDFS(t, c, "/target", old, 0)
	writeHDFS(t, c, "/tmp", fresh, 0)
	if err := c.Rename("/tmp", "/target"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadFile("/target"); err != nil || !bytes.Equal(got, fresh) {
		t.Fatalf("ReadFile after rename over: %d bytes, %v", len(got), err)
	}
	if files := h.Files(); len(files) != 1 || files["/target"] != 1000 {
		t.Errorf("Files() = %v, want only /target of 1000 bytes", files)
	}
	h.dn.mu.Lock()
	n := len(h.dn.replicas)
	h.dn.mu.Unlock()
	if n != 1 {
		t.Errorf("%d replicas on the DataNode, want 1 (the overwritten file's two dropped)", n)
	}
}

func TestHDFSXAttrs(t *testing.T) {
	_, c := startHDFSClient(t, "alice")
	writeHDFS(t, c, "/f", []byte("x"), 0)
	if err := c.SetXAttr("/f", "user.sha256", "abc"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetXAttr("/f", "user.meta", "1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetXAttr("/f", "user.meta", "2"); err != nil { // create-or-replace
		t.Fatal(err)
	}
	got, err := c.GetXAttrs("/f", "user.sha256", "user.meta")
	if err != nil || got["user.sha256"] != "abc" || got["user.meta"] != "2" || len(got) != 2 {
		t.Fatalf("GetXAttrs = %v, %v", got, err)
	}
	if all, err := c.ListXAttrs("/f"); err != nil || len(all) != 2 {
		t.Errorf("ListXAttrs = %v, %v; want the two names", all, err)
	}
	if _, err := c.GetXAttrs("/f", "user.nope"); err == nil {
		t.Error("GetXAttrs of a missing key: nil error")
	}
	if err := c.RemoveXAttr("/f", "user.meta"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveXAttr("/f", "user.meta"); err == nil {
		t.Error("RemoveXAttr of a removed key: nil error")
	}
	if err := c.SetXAttr("/f", "trusted.x", "1"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("SetXAttr in the trusted namespace as a user: %v, want os.ErrPermission", err)
	}
	// Hadoop counts the name without "user." and refuses with
	// HadoopIllegalArgumentException, which the client maps onto
	// os.ErrInvalid.
	if err := c.SetXAttr("/f", "user.big", string(make([]byte, xattrMaxSize-2))); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("SetXAttr over 16 KiB: %v, want os.ErrInvalid", err)
	}
	if err := c.SetXAttr("/f", "user.big", string(make([]byte, xattrMaxSize-3))); err != nil {
		t.Errorf("SetXAttr of 16 KiB with its name: %v", err)
	}
	if err := c.SetXAttr("/missing", "user.a", "1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SetXAttr on a missing file: %v, want os.ErrNotExist", err)
	}
	// Renaming keeps them: they belong to the inode.
	if err := c.Rename("/f", "/g"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetXAttrs("/g", "user.sha256"); err != nil || got["user.sha256"] != "abc" {
		t.Errorf("GetXAttrs after rename = %v, %v", got, err)
	}
}

func TestHDFSXAttrsOff(t *testing.T) {
	_, c := startHDFSClient(t, "alice", HDFSXAttrs(false))
	writeHDFS(t, c, "/f", []byte("x"), 0)
	if err := c.SetXAttr("/f", "user.a", "1"); exception(err) != exIO {
		t.Errorf("SetXAttr with xattrs disabled: %v, want %s", err, exIO)
	}
	if _, err := c.GetXAttrs("/f", "user.a"); exception(err) != exIO {
		t.Errorf("GetXAttrs with xattrs disabled: %v, want %s", err, exIO)
	}
}
