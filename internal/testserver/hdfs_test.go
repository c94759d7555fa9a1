package testserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2"
	"go.uber.org/goleak"
)

// startHDFSClient starts the double and connects the real client to it as
// user; goleak checks, after both are closed, that nothing of either
// outlives them.
func startHDFSClient(t *testing.T, user string, opts ...HDFSOption) (*HDFS, *hdfs.Client) {
	t.Helper()
	// Registered first, so it runs last; goroutines from earlier tests
	// (the client's own leak, clientAckLeak) are not this test's.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	h := StartHDFS(t, opts...)
	return h, dialHDFS(t, h, user)
}

// dialHDFS connects another real client, closed when t ends.
func dialHDFS(t *testing.T, h *HDFS, user string) *hdfs.Client {
	t.Helper()
	c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{h.NameNode()}, User: user})
	if err != nil {
		t.Fatalf("connect to the HDFS double: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exception returns the Java exception class of a NameNode error.
func exception(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if e, ok := err.(hdfs.Error); ok {
		return e.Exception()
	}
	return ""
}

func TestHDFSMkdirStat(t *testing.T) {
	_, c := startHDFSClient(t, "alice")
	if err := c.MkdirAll("/a/b/c", 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat("/a/b/c")
	if err != nil || !st.IsDir() || st.Name() != "c" || st.Mode().Perm() != 0o750 {
		t.Fatalf("Stat(/a/b/c) = %v, %v; want a directory c with 0750", st, err)
	}
	if fi := st.(*hdfs.FileInfo); fi.Owner() != "alice" || fi.OwnerGroup() != "supergroup" {
		t.Errorf("owner/group = %s/%s, want alice and the parent's group supergroup", fi.Owner(), fi.OwnerGroup())
	}
	if err := c.MkdirAll("/a/b/c", 0o755); err != nil {
		t.Errorf("MkdirAll of an existing directory: %v, want nil", err)
	}
	if err := c.Mkdir("/a/b/c", 0o755); !errors.Is(err, os.ErrExist) {
		t.Errorf("Mkdir of an existing directory: %v, want os.ErrExist", err)
	}
	if err := c.Mkdir("/x/y", 0o755); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Mkdir with a missing parent: %v, want os.ErrNotExist", err)
	}
	if _, err := c.Stat("/nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat of a missing path: %v, want os.ErrNotExist", err)
	}
	if err := c.CreateEmptyFile("/a/f"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mkdir("/a/f/sub", 0o755); exception(err) != exParentNotDir {
		t.Errorf("Mkdir under a file: %v, want %s", err, exParentNotDir)
	}
	if _, err := c.Stat("/a/f/sub"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat under a file: %v, want os.ErrNotExist", err)
	}
	// (The client cleans the paths it gives mkdir, not those of stat.)
	if _, err := c.Stat("/a/../b"); exception(err) != exInvalidPath {
		t.Errorf("Stat of /a/../b: %v, want %s", err, exInvalidPath)
	}
	long := string(slices.Repeat([]byte{'n'}, 256))
	if err := c.Mkdir("/"+long, 0o755); exception(err) != exComponentTooLong {
		t.Errorf("Mkdir with a 256-byte name: %v, want %s", err, exComponentTooLong)
	}
	// The length is checked where a name is added, not where one is
	// looked up: HDFS finds nothing there.
	if _, err := c.Stat("/" + long); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat of a 256-byte name: %v, want os.ErrNotExist", err)
	}
	if err := c.Rename("/a/f", "/a/"+long); exception(err) != exComponentTooLong {
		t.Errorf("Rename to a 256-byte name: %v, want %s", err, exComponentTooLong)
	}
	// ".snapshot" is reserved for snapshots (FSDirectory.verifyINodeName).
	// (HadoopIllegalArgumentException, which the client maps onto
	// os.ErrInvalid.)
	if err := c.Mkdir("/a/.snapshot", 0o755); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Mkdir .snapshot: %v, want os.ErrInvalid (%s)", err, exIllegalArgument)
	}
	if err := c.CreateEmptyFile("/.snapshot"); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Create .snapshot: %v, want os.ErrInvalid (%s)", err, exIllegalArgument)
	}
	if err := c.Rename("/a/f", "/a/.snapshot"); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Rename to .snapshot: %v, want os.ErrInvalid (%s)", err, exIllegalArgument)
	}
}

func TestHDFSReadDirPages(t *testing.T) {
	h, c := startHDFSClient(t, "alice", HDFSListLimit(2))
	if err := c.Mkdir("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c", "d", "e"}
	for _, n := range []string{"e", "c", "a", "d"} {
		if err := c.CreateEmptyFile("/d/" + n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Mkdir("/d/b", 0o755); err != nil {
		t.Fatal(err)
	}
	before := h.Calls("getListing")
	list, err := c.ReadDir("/d")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range list {
		names = append(names, fi.Name())
	}
	if !slices.Equal(names, want) {
		t.Fatalf("ReadDir = %v, want %v", names, want)
	}
	if got := h.Calls("getListing") - before; got != 3 {
		t.Errorf("ReadDir of 5 entries at 2 a page took %d getListing calls, want 3", got)
	}
	if !list[1].IsDir() || list[0].IsDir() {
		t.Errorf("ReadDir types: a dir=%v b dir=%v", list[0].IsDir(), list[1].IsDir())
	}

	f, err := c.Open("/d")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, err := f.Readdirnames(3)
	if err != nil || !slices.Equal(first, want[:3]) {
		t.Fatalf("Readdirnames(3) = %v, %v", first, err)
	}
	rest, err := f.Readdirnames(3)
	if err != nil || !slices.Equal(rest, want[3:]) {
		t.Fatalf("second Readdirnames(3) = %v, %v; want %v", rest, err, want[3:])
	}
	if _, err := c.ReadDir("/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadDir of a missing directory: %v, want os.ErrNotExist", err)
	}
}

func TestHDFSRenameRemove(t *testing.T) {
	h, c := startHDFSClient(t, "alice")
	for _, p := range []string{"/src", "/dst", "/dir"} {
		if err := c.CreateEmptyFile(p); p != "/dir" && err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Remove("/dir"); err != nil {
		t.Fatal(err)
	}
	if err := c.MkdirAll("/dir/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Chmod("/src", 0o600); err != nil {
		t.Fatal(err)
	}
	// The client's Rename is rename2 with OVERWRITE: the target goes.
	if err := c.Rename("/src", "/dst"); err != nil {
		t.Fatalf("Rename over an existing file: %v", err)
	}
	if h.Calls("rename2") != 1 {
		t.Errorf("rename2 calls = %d, want 1", h.Calls("rename2"))
	}
	if _, err := c.Stat("/src"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("source after rename: %v, want os.ErrNotExist", err)
	}
	if st, err := c.Stat("/dst"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("target after rename: %v, %v; want the source's 0600", st, err)
	}
	if err := c.Rename("/nope", "/x"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Rename of a missing source: %v, want os.ErrNotExist", err)
	}
	if err := c.Rename("/dst", "/dir"); exception(err) != exIO {
		t.Errorf("Rename of a file over a directory: %v, want %s", err, exIO)
	}
	if err := c.Rename("/dir", "/dir/sub/in"); exception(err) != exIO {
		t.Errorf("Rename of a directory into itself: %v, want %s", err, exIO)
	}
	if err := c.Rename("/dst", "/dst"); !errors.Is(err, os.ErrExist) {
		t.Errorf("Rename onto itself: %v, want os.ErrExist", err)
	}
	if err := c.Rename("/dst", "/dir/sub/moved"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("/dir"); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("Remove of a non-empty directory: %v, want ENOTEMPTY", err)
	}
	if err := c.Remove("/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove of a missing file: %v, want os.ErrNotExist", err)
	}
	if err := c.RemoveAll("/dir"); err != nil {
		t.Fatal(err)
	}
	if files := h.Files(); len(files) != 0 {
		t.Errorf("Files() after RemoveAll = %v, want none", files)
	}
}

func TestHDFSPermissions(t *testing.T) {
	h, alice := startHDFSClient(t, "alice")
	bob := dialHDFS(t, h, "bob")
	root := dialHDFS(t, h, "hdfs")
	if err := alice.Mkdir("/home", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := alice.CreateEmptyFile("/home/f"); err != nil {
		t.Fatal(err)
	}
	if err := bob.CreateEmptyFile("/home/g"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("bob creating in alice's 0755 directory: %v, want os.ErrPermission", err)
	}
	if err := bob.Remove("/home/f"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("bob removing in alice's directory: %v, want os.ErrPermission", err)
	}
	if err := bob.Chmod("/home/f", 0o777); !errors.Is(err, os.ErrPermission) {
		t.Errorf("bob chmod of alice's file: %v, want os.ErrPermission", err)
	}
	if err := bob.Chown("/home/f", "bob", ""); !errors.Is(err, os.ErrPermission) {
		t.Errorf("bob chown to himself: %v, want os.ErrPermission", err)
	}
	if err := alice.Chmod("/home", 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Stat("/home/f"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("bob walking through alice's 0700 directory: %v, want os.ErrPermission", err)
	}
	if err := root.Chown("/home/f", "bob", "bob"); err != nil {
		t.Errorf("the superuser's chown: %v", err)
	}
	if fi, err := root.Stat("/home/f"); err != nil || fi.(*hdfs.FileInfo).Owner() != "bob" {
		t.Errorf("owner after chown: %v, %v", fi, err)
	}
	mtime := time.Unix(1_700_000_000, 0)
	if err := alice.Chtimes("/home", mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if fi, err := alice.Stat("/home"); err != nil || !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime after Chtimes: %v, %v; want %v", fi.ModTime(), err, mtime)
	}
	if err := bob.Chtimes("/home", mtime, mtime); !errors.Is(err, os.ErrPermission) {
		t.Errorf("bob's Chtimes on alice's directory: %v, want os.ErrPermission", err)
	}
	var _ fs.FileInfo = (*hdfs.FileInfo)(nil)
}

// TestHDFSInodePaths: /.reserved/.inodes/<id> names an inode wherever it
// is now, as FSDirectory.resolveDotInodesPath does: found after a rename,
// deleted by it (non-recursively), not found once gone.
func TestHDFSInodePaths(t *testing.T) {
	_, c := startHDFSClient(t, "alice")
	if err := c.MkdirAll("/a/d", 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := c.Stat("/a/d")
	if err != nil {
		t.Fatal(err)
	}
	p := fmt.Sprintf("/.reserved/.inodes/%d", fi.Sys().(interface{ GetFileId() uint64 }).GetFileId())
	if err := c.Rename("/a/d", "/a/e"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Stat(p); err != nil || !got.IsDir() {
		t.Fatalf("Stat %s after a rename: %v, %v", p, got, err)
	}
	if err := c.CreateEmptyFile("/a/e/f"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(p); err == nil {
		t.Fatal("a non-recursive delete by inode path removed a directory that is not empty")
	}
	if err := c.Remove("/a/e/f"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(p); err != nil {
		t.Fatalf("Remove %s: %v", p, err)
	}
	if _, err := c.Stat("/a/e"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat /a/e after its removal by inode path: %v", err)
	}
	if _, err := c.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat %s once gone: %v", p, err)
	}
}

// TestHDFSPathLength: create, mkdirs and rename refuse a path over 8000
// characters or 1000 levels, as NameNodeRpcServer.checkPathLength does.
func TestHDFSPathLength(t *testing.T) {
	_, c := startHDFSClient(t, "alice")
	deep := strings.Repeat("/d", 1001)
	if err := c.MkdirAll(deep, 0o755); exception(err) != exIO {
		t.Errorf("MkdirAll of 1001 levels: %v, want %s", err, exIO)
	}
	long := "/" + strings.Repeat("n", 200)
	for range 40 {
		long += "/" + strings.Repeat("n", 200)
	}
	if err := c.CreateEmptyFile(long); exception(err) != exIO {
		t.Errorf("create of %d characters: %v, want %s", len(long), err, exIO)
	}
	if err := c.CreateEmptyFile("/f"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("/f", strings.Repeat("/d", 1000)+"/f"); exception(err) != exIO {
		t.Errorf("rename to 1001 levels: %v, want %s", err, exIO)
	}
}
