package localstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/localstore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

var ctx = context.Background()

// TestOnDisk: objects are plain files, byte for byte; attributes written
// by Put are dropped when another program rewrites the file; reserved
// names are refused; an emptied directory disappears.
func TestOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	data := []byte("exactly these bytes\x00\xff")
	if _, err := s.Put(ctx, "docs/report.pdf", bytes.NewReader(data), &filestore.PutOptions{ContentType: "application/x-custom"}); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "docs", "report.pdf"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("file on disk: %q %v", onDisk, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docs", "report.pdf"), []byte("rewritten elsewhere"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "docs/report.pdf")
	if err != nil || st.SHA256 != nil || st.ContentType != "application/pdf" || st.Size != 19 {
		t.Fatalf("Stat of a file rewritten by another program: %+v %v", st, err)
	}
	// A file another program put in the tree is an object too.
	if err := os.WriteFile(filepath.Join(dir, "foreign.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(must(s.Open(ctx, "foreign.txt"))); err != nil || string(got) != "hi" {
		t.Fatalf("foreign file: %q %v", got, err)
	}
	for _, n := range []string{".filestore/x", ".filestore"} {
		if _, err := s.Put(ctx, n, bytes.NewReader(nil), nil); !errors.Is(err, fs.ErrInvalid) {
			t.Fatalf("reserved name %q: %v", n, err)
		}
	}
	if err := s.Delete(ctx, "docs/report.pdf"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("emptied directory still there: %v", err)
	}
}

func must(r *filestore.Reader, err error) io.Reader {
	if err != nil {
		panic(err)
	}
	return r
}

func TestURLs(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"file://host/dir", "file://", "file:///" + dir + "?bogus=1", "file:///" + dir + "?fsync=maybe", "file:///" + dir + "?xattrs=no!",
		"file://" + filepath.Join(dir, "missing")} {
		if _, err := filestore.Open(ctx, u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	s, err := filestore.Open(ctx, "file://"+filepath.Join(dir, "new", "sub")+"?mkdir=true")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, made := range []string{filepath.Join(dir, "new"), filepath.Join(dir, "new", "sub")} {
		// 0750 less the umask: nothing for others, whatever the umask.
		info, err := os.Stat(made)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && info.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s made by mkdir=true: mode %v, want 0750 (less the umask)", made, info.Mode())
		}
	}
	if _, err := localstore.New(filepath.Join(dir, "new", "sub", ".filestore"), nil); err != nil {
		t.Fatal(err) // a directory named .filestore is fine as a root
	}
}

// TestPutMemoryBounded: a 1 GiB Put grows the process's RSS by well
// under 64 MiB (sampled while it runs).
func TestPutMemoryBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("RSS under -race measures the race detector; scripts/test runs this test without -race")
	}
	if testserver.Isolated(t) {
		return
	}
	s := open(t, t.TempDir(), "fsync=false")
	const size = 1 << 30
	var info *filestore.Info
	var err error
	growth := testserver.PeakRSSGrowth(t, func() { info, err = s.Put(ctx, "big", testserver.Zeros(size), nil) })
	if err != nil || info.Size != size {
		t.Fatalf("Put: %+v %v", info, err)
	}
	if growth >= 64<<20 {
		t.Fatalf("RSS grew by %d MiB during a 1 GiB Put, want well under 64 MiB", growth>>20)
	}
	want := sha256.New()
	_, _ = io.Copy(want, testserver.Zeros(size))
	if !bytes.Equal(info.SHA256, want.Sum(nil)) {
		t.Fatal("digest of the 1 GiB object is wrong")
	}
}

// TestKilledMidPut: a process SIGKILLed in the middle of a Put leaves
// nothing visible under the name, and the previous content intact.
func TestKilledMidPut(t *testing.T) {
	if dir := os.Getenv("LOCALSTORE_CHILD_DIR"); dir != "" {
		child(dir)
		return
	}
	dir := t.TempDir()
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "doc", bytes.NewReader([]byte("old content")), nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMidPut$")
	cmd.Env = append(os.Environ(), "LOCALSTORE_CHILD_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	// The child streams forever; kill it once its temporary file is big.
	testserver.WaitFor(t, 2*time.Minute, "the child's Put to be under way", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, ".filestore", "tmp"))
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Size() > 8<<20 {
				return true
			}
		}
		return false
	})
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if got, err := io.ReadAll(must(s.Open(ctx, "doc"))); err != nil || string(got) != "old content" {
		t.Fatalf("after the writer died: %q %v", got, err)
	}
	if _, err := s.Stat(ctx, "fresh"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the new object of the killed Put: %v", err)
	}
}

// child replaces "doc" and creates "fresh" from an endless reader.
func child(dir string) {
	s, err := filestore.Open(ctx, "file://"+dir)
	if err != nil {
		os.Exit(2)
	}
	go func() { _, _ = s.Put(ctx, "fresh", testserver.Zeros(1<<62), nil) }()
	_, _ = s.Put(ctx, "doc", testserver.Zeros(1<<62), nil)
	os.Exit(3)
}
