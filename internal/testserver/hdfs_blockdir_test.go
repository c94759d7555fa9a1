package testserver

import (
	"bytes"
	"io"
	"os"
	"sort"
	"testing"

	"go.uber.org/goleak"
)

// blockFiles returns the size of every file in dir, by name.
func blockFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fi.Size()
	}
	return out
}

// TestHDFSBlockDir: with HDFSBlockDir the replicas are files in the
// directory, one per block holding exactly the block's bytes and none in
// memory; files of several blocks read back byte-exact (whole, by small
// reads, at offsets), Checksum agrees with the memory double's, and
// deleting or overwriting a file removes its block files.
func TestHDFSBlockDir(t *testing.T) {
	const bs = 64 << 10
	dir := t.TempDir()
	h, c := startHDFSClient(t, "alice", HDFSBlockDir(dir), HDFSBlockSize(bs))
	a, b := pattern(3*bs+bs/2+17, 1), pattern(2*bs, 2)
	writeHDFS(t, c, "/a", a, 10000)
	writeHDFS(t, c, "/b", b, 0)

	files := blockFiles(t, dir)
	var sizes []int64
	var total int64
	for _, n := range files {
		sizes = append(sizes, n)
		total += n
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	if len(files) != 6 || total != int64(len(a)+len(b)) || sizes[0] != bs/2+17 || sizes[5] != bs {
		t.Fatalf("block files %v, want 6 (4 + 2 blocks of at most %d bytes) holding %d bytes", files, bs, len(a)+len(b))
	}
	h.dn.mu.Lock()
	for id, r := range h.dn.replicas {
		if r.data != nil || !r.finalized || r.w != nil {
			t.Errorf("replica %d: %d bytes in memory, finalized %v, writer open %v", id, len(r.data), r.finalized, r.w != nil)
		}
	}
	h.dn.mu.Unlock()

	for name, want := range map[string][]byte{"/a": a, "/b": b} {
		got, err := c.ReadFile(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadFile(%s): %d bytes, %v; want the %d written", name, len(got), err, len(want))
		}
	}
	f, err := c.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	var small bytes.Buffer
	if _, err := io.CopyBuffer(&small, struct{ io.Reader }{f}, make([]byte, 777)); err != nil || !bytes.Equal(small.Bytes(), a) {
		t.Fatalf("Read by 777 bytes: %d bytes, %v", small.Len(), err)
	}
	for _, off := range []int{0, 511, bs - 3, bs, 2*bs + 700, len(a) - 5} {
		buf := make([]byte, min(1000, len(a)-off))
		if _, err := f.ReadAt(buf, int64(off)); err != nil || !bytes.Equal(buf, a[off:off+len(buf)]) {
			t.Fatalf("ReadAt %d: %v", off, err)
		}
	}
	onDisk, err := f.Checksum()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, mc := startHDFSClient(t, "alice", HDFSBlockSize(bs))
	writeHDFS(t, mc, "/a", a, 0)
	mf, err := mc.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	inMemory, err := mf.Checksum()
	mf.Close()
	if err != nil || !bytes.Equal(onDisk, inMemory) {
		t.Fatalf("Checksum from block files %x, from memory %x (%v)", onDisk, inMemory, err)
	}

	if err := c.Remove("/a"); err != nil {
		t.Fatal(err)
	}
	if files := blockFiles(t, dir); len(files) != 2 {
		t.Fatalf("after deleting /a the block files are %v, want /b's 2", files)
	}
	writeHDFS(t, c, "/small", []byte("fresh"), 0)
	if err := c.Rename("/small", "/b"); err != nil {
		t.Fatal(err)
	}
	if files := blockFiles(t, dir); len(files) != 1 {
		t.Fatalf("after overwriting /b the block files are %v, want the new file's 1", files)
	}
	if got, err := c.ReadFile("/b"); err != nil || string(got) != "fresh" {
		t.Fatalf("ReadFile(/b) after overwrite: %q %v", got, err)
	}
}

// TestHDFSBlockDirFailedWrite: the files of a write cut by
// DropDataNodeAfter (finalized blocks and the unfinished one) are removed
// with the file the writer left under construction.
func TestHDFSBlockDirFailedWrite(t *testing.T) {
	const bs = 64 << 10
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before, clientAckLeak) })
	dir := t.TempDir()
	h := StartHDFS(t, HDFSBlockDir(dir), HDFSBlockSize(bs))
	c := dialHDFS(t, h, "alice")
	h.DropDataNodeAfter(bs + 1000)
	w, err := c.Create("/cut")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(pattern(3*bs, 3))
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("a write the DataNode dropped succeeded")
	}
	files := blockFiles(t, dir)
	var whole int
	for _, n := range files {
		if n == bs {
			whole++
		}
	}
	if len(files) != 2 || whole != 1 {
		t.Fatalf("block files of the cut write: %v, want the finalized first block's and the unfinished second's", files)
	}
	if err := c.Remove("/cut"); err != nil {
		t.Fatal(err)
	}
	if files := blockFiles(t, dir); len(files) != 0 {
		t.Errorf("after deleting the cut file the block files are %v, want none", files)
	}
}
