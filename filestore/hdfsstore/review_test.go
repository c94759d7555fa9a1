package hdfsstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/hdfsstore"
)

// TestReviewMetadataTooBig: HDFS bounds an extended attribute (16 KiB by
// default, dfs.namenode.fs-limits.max-xattr-size); the package doc
// promises that a Put whose attributes exceed it fails with
// fs.ErrInvalid, leaving nothing under the name and no temporary file.
func TestReviewMetadataTooBig(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	meta := map[string]string{"big": strings.Repeat("v", 17<<10)}
	_, err := s.Put(ctx, "k", strings.NewReader("data"), &filestore.PutOptions{Metadata: meta})
	if !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Put with 17 KiB of metadata: %v, want fs.ErrInvalid", err)
	}
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after the refused Put: %v, want fs.ErrNotExist", err)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
	// Just under the limit (the attribute's name, without its namespace
	// prefix, counts too, as HDFS counts it) is stored.
	meta["big"] = strings.Repeat("v", 15<<10)
	if _, err := s.Put(ctx, "k", strings.NewReader("data"), &filestore.PutOptions{Metadata: meta}); err != nil {
		t.Fatalf("Put with 15 KiB of metadata: %v", err)
	}
}

// TestReviewNamesHDFSRefuses: names that HDFS can never hold — an element
// with ':' (DFSUtil.isValidName) or named ".snapshot" (reserved for
// snapshots: on a snapshottable base, ".snapshot/s1/x" would read a
// snapshot, a name List never shows) — are refused by every operation
// with fs.ErrInvalid, as filestore's doc says of a bad name, not with a
// raw Java exception or by reaching a snapshot.
func TestReviewNamesHDFSRefuses(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "ok", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a:b", "d:x/y", "x/a:b", ".snapshot", "a/.snapshot", "a/.snapshot/b", ".snapshot/s1/ok"} {
		checks := map[string]error{}
		_, checks["Put"] = s.Put(ctx, n, strings.NewReader("x"), nil)
		_, checks["Stat"] = s.Stat(ctx, n)
		_, checks["Open"] = s.Open(ctx, n)
		checks["Delete"] = s.Delete(ctx, n)
		checks["Rename"] = s.Rename(ctx, "ok", n)
		checks["Copy from"] = s.Copy(ctx, n, "ok")
		checks["Copy to"] = s.Copy(ctx, "ok", n)
		for op, err := range checks {
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s(%q): %v, want fs.ErrInvalid", op, n, err)
			}
		}
	}
	if got := readAll(t, s, "ok"); got != "x" {
		t.Fatalf("ok after the refused renames: %q", got)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

// TestReviewLongNames: an element over the namenode's component limit
// (255 bytes by default, dfs.namenode.fs-limits.max-component-length;
// configurable, so the store cannot check it itself) fails a Put, a
// Rename and a Copy with fs.ErrInvalid and leaves no temporary file;
// reading such a name finds nothing. 255 bytes of UTF-8 work.
func TestReviewLongNames(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "ok", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 128) // 256 bytes
	for _, n := range []string{long, long + "/x", "d/" + long} {
		checks := map[string]error{}
		_, checks["Put"] = s.Put(ctx, n, strings.NewReader("x"), nil)
		checks["Rename"] = s.Rename(ctx, "ok", n)
		checks["Copy"] = s.Copy(ctx, "ok", n)
		for op, err := range checks {
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s(%q): %v, want fs.ErrInvalid", op, n, err)
			}
		}
		if _, err := s.Stat(ctx, n); !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Stat(%q): %v, want fs.ErrNotExist or fs.ErrInvalid", n, err)
		}
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
	fits := strings.Repeat("é", 127) + "x" // 255 bytes
	name := "ünï/çødé ✓/" + fits
	if _, err := s.Put(ctx, name, strings.NewReader("unicode"), nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, name); got != "unicode" {
		t.Fatalf("%q: %q", name, got)
	}
}

// TestReviewCompleteNotYet: the namenode answers complete with false (the
// last block's replicas not yet reported) a few times before it takes
// it, as a busy cluster does: the Put retries Close (hdfs.ErrReplicating,
// the client sending the retries without the last block, which it
// committed the first time) and succeeds, the object whole.
func TestReviewCompleteNotYet(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	srv.CompleteNotYet(3)
	data := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+7)
	if _, err := s.Put(ctx, "k", bytes.NewReader(data), nil); err != nil {
		t.Fatalf("Put while the namenode answers complete with false: %v", err)
	}
	if got := readAll(t, s, "k"); got != string(data) {
		t.Fatalf("k: %d bytes, want %d", len(got), len(data))
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

// TestReviewOthersUnfinished: the package doc says that files other
// programs are still writing under the base are no objects: neither
// Stat, Open nor List may show one half-written (it showed the length of
// its completed blocks). Once closed, it is an object without a digest.
func TestReviewOthersUnfinished(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	c := client(t, srv.NameNode(), "groundwork")
	fw, err := c.CreateFile(base+"/busy", 1, 1<<20, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 1<<20+10) // one block done, one in progress
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, "busy"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a file another program is writing: %+v, %v; want fs.ErrNotExist", info, err)
	}
	if _, err := s.Open(ctx, "busy"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a file another program is writing: %v; want fs.ErrNotExist", err)
	}
	for info, err := range s.List(ctx, "") {
		t.Errorf("listed while being written: %+v %v", info, err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, "busy")
	if err != nil || info.Size != int64(len(data)) || info.SHA256 != nil {
		t.Fatalf("Stat once written: %+v, %v", info, err)
	}
	if got := readAll(t, s, "busy"); got != string(data) {
		t.Fatalf("busy: %d bytes", len(got))
	}
}

// TestReviewPruneRace: a Delete prunes the directories it empties; if,
// between its delete and its prune, the directory went (a concurrent
// Delete's prune) and a Put stored an object at that name, the prune must
// not remove that object — it deleted by path, so it did.
func TestReviewPruneRace(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	c := client(t, srv.NameNode(), "groundwork")
	if _, err := s.Put(ctx, "a/c", strings.NewReader("c"), nil); err != nil {
		t.Fatal(err)
	}
	var hookErr error
	restore := hdfsstore.SetBeforePrune(func() {
		if err := c.Remove(base + "/a"); err != nil { // the emptied directory, as another prune would
			hookErr = err
			return
		}
		_, hookErr = s.Put(ctx, "a", strings.NewReader("new object"), nil)
	})
	err := s.Delete(ctx, "a/c")
	restore()
	if err != nil || hookErr != nil {
		t.Fatalf("Delete: %v; the racing Put: %v", err, hookErr)
	}
	if got := readAll(t, s, "a"); got != "new object" {
		t.Fatalf("a: %q", got)
	}
}

// TestReviewEmptyDirInTheWay: an empty directory at a name (left by a Put
// under it that failed after making it, or by a Delete whose prune
// failed) holds no object: a Put, an IfNotExist Put and a Rename to that
// name succeed, rather than failing with fs.ErrExist for ever.
func TestReviewEmptyDirInTheWay(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	c := client(t, srv.NameNode(), "groundwork")
	if _, err := s.Put(ctx, "a/"+strings.Repeat("n", 256), strings.NewReader("x"), nil); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Put of a name too long: %v, want fs.ErrInvalid", err)
	}
	if _, err := s.Put(ctx, "a", strings.NewReader("a"), nil); err != nil {
		t.Errorf("Put where a failed Put left an empty directory: %v", err)
	}
	if _, err := s.Put(ctx, "b/c/"+strings.Repeat("n", 256), strings.NewReader("x"), nil); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Put of a name too long: %v, want fs.ErrInvalid", err)
	}
	if err := c.MkdirAll(base+"/b/c2/c3", 0o755); err != nil { // as a crash would leave it
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "b", strings.NewReader("b"), nil); err != nil {
		t.Errorf("Put where empty directories are left under the name: %v", err)
	}
	for _, d := range []string{"e", "r"} {
		if err := c.Mkdir(base+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "e", strings.NewReader("e"), &filestore.PutOptions{IfNotExist: true}); err != nil {
		t.Errorf("IfNotExist Put over an empty directory: %v", err)
	}
	if _, err := s.Put(ctx, "x", strings.NewReader("r"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "x", "r"); err != nil {
		t.Errorf("Rename over an empty directory: %v", err)
	}
	// A directory holding objects is still in the way.
	if _, err := s.Put(ctx, "d/o", strings.NewReader("o"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "d", strings.NewReader("d"), nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Put over a directory of objects: %v, want fs.ErrExist", err)
	}
	if got := readAll(t, s, "d/o"); got != "o" {
		t.Errorf("d/o: %q", got)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

// TestReviewReaderPinnedABA: a Reader reads the version Open found. The
// client fetches a file's blocks by name at its first read; the old
// Open read the first 64 KiB, then checked the name still held the
// inode it had opened. With the name moved away, another object put
// there (whose blocks that first read fetched), and the first moved back
// before the check, the check passed and the Reader served the other
// object's bytes under the first one's attributes.
func TestReviewReaderPinnedABA(t *testing.T) {
	_, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	a := bytes.Repeat([]byte("A"), 200<<10)
	b := bytes.Repeat([]byte("B"), 200<<10)
	if _, err := s.Put(ctx, "n", bytes.NewReader(a), nil); err != nil {
		t.Fatal(err)
	}
	var hookErr []error
	restore := hdfsstore.SetOpenHook(func(step int) {
		switch step {
		case 1: // opened: the name moves on before the blocks are fetched
			hookErr = append(hookErr, s.Rename(ctx, "n", "m"))
			_, err := s.Put(ctx, "n", bytes.NewReader(b), nil)
			hookErr = append(hookErr, err)
		case 2: // and back before the check
			hookErr = append(hookErr, s.Rename(ctx, "m", "n"))
		}
	})
	r, err := s.Open(ctx, "n")
	restore()
	if err := errors.Join(hookErr...); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, filestore.ErrReplaced) {
		t.Fatalf("reading: %v", err)
	}
	if !bytes.Equal(got, a[:len(got)]) {
		i := 0
		for i < len(got) && got[i] == a[i] {
			i++
		}
		t.Fatalf("read %d bytes; byte %d is %q, not the version opened (A)", len(got), i, got[i])
	}
	if err != nil {
		t.Fatalf("n holds the version opened, yet reading it failed: %v", err)
	}
}

// TestReviewRetryableCtx: a ctx that ended is the caller's answer, never a
// failure worth retrying; context.DeadlineExceeded satisfies net.Error
// (Timeout), which IsRetryable took for a stalled connection.
func TestReviewRetryableCtx(t *testing.T) {
	_, ss := server(t)
	s := ss.open(t)
	for _, err := range []error{context.DeadlineExceeded, context.Canceled, fmt.Errorf("put: %w", context.DeadlineExceeded)} {
		if s.IsRetryable(err) {
			t.Errorf("IsRetryable(%v) = true", err)
		}
	}
	if !s.IsRetryable(os.ErrDeadlineExceeded) {
		t.Error("IsRetryable(a connection's deadline) = false")
	}
}

// TestReviewUnreadableForeignFile: a file another program left under the
// base that the store's user may not read (its attributes cannot be
// read) is listed and stated as getFileInfo shows it, without a digest;
// it must not make List or Stat fail for everything else.
func TestReviewUnreadableForeignFile(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	if _, err := s.Put(ctx, "ok", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.NameNode(), "groundwork")
	fw, err := c.Create(base + "/secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte("private")); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Chmod(base+"/secret", 0); err != nil {
		t.Fatal(err)
	}
	var names []string
	for info, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		names = append(names, info.Name)
	}
	if strings.Join(names, ",") != "ok,secret" {
		t.Errorf("listed %q", names)
	}
	if info, err := s.Stat(ctx, "secret"); err != nil || info.SHA256 != nil {
		t.Errorf("Stat of the unreadable file: %+v, %v", info, err)
	}
	if _, err := s.Open(ctx, "secret"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Open of the unreadable file: %v, want fs.ErrPermission", err)
	}
}

// TestReviewCompleteNeverTaken: a namenode that keeps answering complete
// with false makes the Put give up once the store's timeout has passed
// (not retry for ever), with an error IsRetryable reports; the name is as
// it was and the temporary file is removed.
func TestReviewCompleteNeverTaken(t *testing.T) {
	srv, _ := server(t)
	ss := newStores(srv.NameNode(), "groundwork", "timeout=1s")
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", strings.NewReader("old"), nil); err != nil {
		t.Fatal(err)
	}
	srv.CompleteNotYet(1 << 30)
	_, err := s.Put(ctx, "k", strings.NewReader("new"), nil)
	srv.CompleteNotYet(0)
	if err == nil || !s.IsRetryable(err) {
		t.Fatalf("Put whose file the namenode never completes: %v (retryable %v)", err, s.IsRetryable(err))
	}
	if got := readAll(t, s, "k"); got != "old" {
		t.Fatalf("k: %q", got)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

// TestReviewPathTooLong: the namenode refuses to add a path over 8000
// characters or 1000 levels (NameNodeRpcServer.checkPathLength, fixed,
// with a plain IOException): a Put, Rename or Copy to such a name fails
// with fs.ErrInvalid, leaving nothing.
func TestReviewPathTooLong(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "ok", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	elems := make([]string, 40)
	for i := range elems {
		elems[i] = strings.Repeat("n", 200)
	}
	long := strings.Join(elems, "/")
	deep := strings.Repeat("d/", 1000) + "x"
	for _, n := range []string{long, deep} {
		checks := map[string]error{}
		_, checks["Put"] = s.Put(ctx, n, strings.NewReader("x"), nil)
		checks["Rename"] = s.Rename(ctx, "ok", n)
		checks["Copy"] = s.Copy(ctx, "ok", n)
		for op, err := range checks {
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s to a name of %d bytes: %v, want fs.ErrInvalid", op, len(n), err)
			}
		}
	}
	if got := readAll(t, s, "ok"); got != "x" {
		t.Fatalf("ok: %q", got)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

// TestReviewForeignRecord: a file carrying a record of another file (its
// extended attributes copied, as distcp -px copies them) is a file
// without a record: while it is still being written it is no object, and
// once written it shows no digest — and a Stat of it does not look the
// name up again and again as if it were being replaced.
func TestReviewForeignRecord(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	if _, err := s.Put(ctx, "a", strings.NewReader("abc"), nil); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.NameNode(), "groundwork")
	xs, err := c.GetXAttrs(base+"/a", "user.groundwork.filestore")
	if err != nil {
		t.Fatal(err)
	}
	fw, err := c.CreateFile(base+"/copy", 1, 1<<20, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetXAttr(base+"/copy", "user.groundwork.filestore", xs["user.groundwork.filestore"]); err != nil {
		t.Fatal(err)
	}
	before := srv.Calls("getFileInfo")
	if info, err := s.Stat(ctx, "copy"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a file being written with a copied record: %+v, %v; want fs.ErrNotExist", info, err)
	}
	if n := srv.Calls("getFileInfo") - before; n > 3 {
		t.Errorf("Stat looked the name up %d times", n)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, "copy"); err != nil || info.SHA256 != nil {
		t.Errorf("Stat of the written copy: %+v, %v; want no digest", info, err)
	}
}

// TestReviewReservedBase: a base under /.reserved (an inode path such as
// /.reserved/.inodes/16385, the root's, or /.reserved/raw) would let a
// URL reach what a plain path may not — the root itself, which New
// refuses as a base — so it is refused like "/".
func TestReviewReservedBase(t *testing.T) {
	srv, _ := server(t)
	ctx := context.Background()
	for _, base := range []string{"/.reserved/.inodes/16385", "/.reserved/raw/x", "/.reserved"} {
		u := "hdfs://" + srv.NameNode() + base + "?user=groundwork"
		if s, err := filestore.Open(ctx, u); !errors.Is(err, filestore.ErrBadURL) {
			if err == nil {
				s.Close()
			}
			t.Errorf("Open(%s): %v, want filestore.ErrBadURL", u, err)
		}
		c := client(t, srv.NameNode(), "groundwork")
		if b, err := hdfsstore.New(ctx, c, base, nil); !errors.Is(err, fs.ErrInvalid) {
			if err == nil {
				b.Close()
			}
			t.Errorf("New(%s): %v, want fs.ErrInvalid", base, err)
		}
	}
}

// TestReviewLostAnswers: what the package doc says of a namenode answer
// lost at the end of a Put. A lost answer to complete: the Put fails and
// the name is as it was. A lost answer to the final rename: the Put fails
// (retryably) although the name holds the new object, with its digest
// recorded — no client can tell in that moment.
func TestReviewLostAnswers(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", strings.NewReader("old"), nil); err != nil {
		t.Fatal(err)
	}
	srv.LoseAnswer("complete", 1)
	if _, err := s.Put(ctx, "k", strings.NewReader("new"), nil); err == nil || !s.IsRetryable(err) {
		t.Fatalf("Put whose complete answer was lost: %v (retryable %v)", err, s.IsRetryable(err))
	}
	if got := readAfterFailure(t, s, "k"); got != "old" {
		t.Fatalf("k after a lost complete answer: %q", got)
	}
	srv.LoseAnswer("rename2", 1)
	if _, err := s.Put(ctx, "k", strings.NewReader("newer"), nil); err == nil || !s.IsRetryable(err) {
		t.Fatalf("Put whose rename answer was lost: %v (retryable %v)", err, s.IsRetryable(err))
	}
	if got := readAfterFailure(t, s, "k"); got != "newer" {
		t.Fatalf("k after a lost rename answer: %q", got)
	}
	info, err := s.Stat(ctx, "k")
	if want := sha256.Sum256([]byte("newer")); err != nil || !bytes.Equal(info.SHA256, want[:]) {
		t.Fatalf("Stat of k: %+v, %v; want the new object's digest", info, err)
	}
}

// TestReviewCopyDigest: Copy records the digest of the bytes it copied.
// It took the source's recorded digest instead, so a record gone stale
// (another program truncating and appending the file back to its size,
// which keeps its inode and length: simulated here by rewriting the
// record) passed on to the copy, whose bytes it did not describe.
func TestReviewCopyDigest(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	if _, err := s.Put(ctx, "src", strings.NewReader("content"), nil); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.NameNode(), "groundwork")
	xs, err := c.GetXAttrs(base+"/src", "user.groundwork.filestore")
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("content"))
	stale := strings.Replace(xs["user.groundwork.filestore"], hex.EncodeToString(want[:]), strings.Repeat("ab", 32), 1)
	if err := c.SetXAttr(base+"/src", "user.groundwork.filestore", stale); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(ctx, "src", "dst"); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, "dst")
	if err != nil || !bytes.Equal(info.SHA256, want[:]) {
		t.Fatalf("Stat of the copy: %x, %v; want the digest of its bytes %x", info.SHA256, err, want)
	}
}

// TestReviewRecordMTime: the record is bound to the file's modification
// time too. Inode id and size alone do not tell a file rewritten in place
// by another program (truncated, then appended to back to its length:
// same inode, same size, new bytes — and a new modification time, which
// HDFS sets at truncate and at the close of an append); a record kept
// through that described bytes the file no longer had. The double has no
// truncate or append: setTimes stands in for the rewrite's new time.
func TestReviewRecordMTime(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	info, err := s.Put(ctx, "k", strings.NewReader("content"), &filestore.PutOptions{ContentType: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	// Rename keeps the record (same inode, same time).
	if err := s.Rename(ctx, "k", "k2"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Stat(ctx, "k2"); err != nil || !bytes.Equal(got.SHA256, info.SHA256) || got.ContentType != "a/b" {
		t.Fatalf("Stat after a rename: %+v, %v", got, err)
	}
	c := client(t, srv.NameNode(), "groundwork")
	later := info.ModTime.Add(time.Hour)
	if err := c.Chtimes(base+"/k2", later, later); err != nil {
		t.Fatal(err)
	}
	got, err := s.Stat(ctx, "k2")
	if err != nil || got.SHA256 != nil || got.ContentType == "a/b" {
		t.Fatalf("Stat of a file changed in place since its record: %+v, %v; want no record believed", got, err)
	}
}
