package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/filestore/memstore"
)

// TestCleanupOrphans: with RemoveOrphans, objects in the Service's
// namespace that no record names — a commit that landed after the
// Service gave up on it, parts of an upload whose record is gone, a name
// the Service never makes — are removed once older than StaleAfter;
// objects with records, young orphans, and everything outside the
// namespace (files/ and uploads/ at the root included) stay.
func TestCleanupOrphans(t *testing.T) {
	_, st := newLossy(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, StaleAfter: time.Hour,
		RemoveOrphans: true})
	clk := withClock(svc)
	rec, err := svc.Upload(ctx, strings.NewReader("kept"), filestore.UploadOptions{Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	live, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.WritePart(ctx, 1, strings.NewReader("part")); err != nil {
		t.Fatal(err)
	}
	const gone = "0123456789abcdef0123456789abcdef"
	orphans := []string{"filestore/files/01/" + gone, "filestore/uploads/" + gone + "/000001", "filestore/files/zz/not-an-id"}
	outside := []string{"elsewhere/not-ours", "files/01/" + gone, "uploads/" + gone + "/000001"}
	for _, name := range append(orphans, outside...) {
		if _, err := st.Put(ctx, name, strings.NewReader("orphan"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countObjects(t, st, ""); n != 8 {
		t.Fatalf("%d objects after a Cleanup with nothing stale, want 8", n)
	}
	clk.advance(30 * time.Minute)
	if _, err := live.WritePart(ctx, 2, strings.NewReader("part")); err != nil { // keeps the upload active
		t.Fatal(err)
	}
	clk.advance(50 * time.Minute) // the orphans are 80 minutes old, the last part 50
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err = svc.Stat(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{rec.Path, "filestore/uploads/" + live.ID() + "/000001", "filestore/uploads/" + live.ID() + "/000002"}, outside...)
	slices.Sort(want)
	if left := names(t, st, ""); !slices.Equal(left, want) {
		t.Fatalf("objects after Cleanup: %q; want %q: the file, the live upload's parts and the objects outside the namespace", left, want)
	}
}

// names lists the objects of s under prefix.
func names(t *testing.T, s *filestore.Store, prefix string) []string {
	t.Helper()
	var out []string
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info.Name)
	}
	return out
}

// TestCleanupOrphansOffByDefault: two Services with metadata of their
// own (tenants; or two deployments with their own pgmeta TablePrefix)
// share a backend under the default namespace. Cleanup of one must not
// take the other's committed files for orphans: the orphan scan is off
// unless ServiceOptions.RemoveOrphans asks for it.
func TestCleanupOrphansOffByDefault(t *testing.T) {
	st := localStore(t)
	a := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}})
	b := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, StaleAfter: time.Hour})
	withClock(b).advance(2 * time.Hour)
	rec, err := a.Upload(ctx, strings.NewReader("tenant A's invoice"), filestore.UploadOptions{Name: "invoice.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	if err := b.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := download(t, a, id); string(got) != "tenant A's invoice" {
		t.Fatalf("A's file after B's Cleanup: %q", got)
	}
}

// TestCleanupNamespaces: Services sharing a backend, each in a namespace
// of its own, with RemoveOrphans: each one's Cleanup removes its own
// orphans and nothing of the other's, nor the objects a user wrote
// beside them through the Store.
func TestCleanupNamespaces(t *testing.T) {
	st := localStore(t)
	svcs := map[string]*filestore.Service{}
	ids := map[string]string{}
	for _, ns := range []string{"tenant-a/", "tenant-b/"} {
		svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Namespace: ns,
			StaleAfter: time.Hour, RemoveOrphans: true})
		rec, err := svc.Upload(ctx, strings.NewReader("of "+ns), filestore.UploadOptions{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		id := rec.ID
		if !strings.HasPrefix(rec.Path, ns+"files/") {
			t.Fatalf("a file of the Service in %q at %q", ns, rec.Path)
		}
		svcs[ns], ids[ns] = svc, id
		if _, err := st.Put(ctx, ns+"files/00/00000000000000000000000000000000", strings.NewReader("orphan"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Put(ctx, "filestore/files/00/00000000000000000000000000000000", strings.NewReader("a user's"), nil); err != nil {
		t.Fatal(err)
	}
	for _, svc := range svcs {
		withClock(svc).advance(2 * time.Hour)
		if err := svc.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for ns, svc := range svcs {
		if got := download(t, svc, ids[ns]); string(got) != "of "+ns {
			t.Fatalf("the file of the Service in %q after both Cleanups: %q", ns, got)
		}
		if _, err := st.Stat(ctx, ns+"files/00/00000000000000000000000000000000"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the orphan in %q after its Service's Cleanup: %v", ns, err)
		}
	}
	if _, err := st.Stat(ctx, "filestore/files/00/00000000000000000000000000000000"); err != nil {
		t.Fatalf("a user's object outside both namespaces: %v", err)
	}
	if _, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Namespace: "no-slash"}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("a namespace without a trailing slash: %v", err)
	}
	if _, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Namespace: "../up/"}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("a namespace that is no valid name: %v", err)
	}
}

// TestCleanupAliasedBackend: one Store configured as two backends (so
// that a policy's HDFS choice lands on S3 until HDFS exists), and a
// backend renamed in the configuration: the orphan scan meets each file
// under a name its record does not carry, and must leave it (a file is
// an orphan only when no record has its ID). Each Store is listed once.
func TestCleanupAliasedBackend(t *testing.T) {
	lossy, st := newLossy(t)
	meta := filestore.NewMemoryMetadata()
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "s3", Store: st}, {Name: "hdfs", Store: st}}, Metadata: meta,
		StaleAfter: time.Hour, RemoveOrphans: true})
	clk := withClock(svc)
	rec, err := svc.Upload(ctx, strings.NewReader("committed"), filestore.UploadOptions{Name: "a.txt"})
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	clk.advance(2 * time.Hour)
	lists := lossy.lists.Load()
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := lossy.lists.Load() - lists; n != 2 { // files/ and uploads/, once
		t.Fatalf("Cleanup listed the store %d times, want 2 (the namespace's files/ and uploads/, once)", n)
	}
	if got := download(t, svc, id); string(got) != "committed" {
		t.Fatalf("the file after Cleanup: %q", got)
	}

	renamed := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "object-store", Store: st}}, Metadata: meta,
		StaleAfter: time.Hour, RemoveOrphans: true})
	withClock(renamed).advance(2 * time.Hour)
	if err := renamed.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := download(t, svc, id); string(got) != "committed" {
		t.Fatalf("the file after a Cleanup with its backend renamed: %q", got)
	}
}

// TestUploadUndoneByCleanupIsConflict: an Upload that took longer than
// StaleAfter before marking its record ready finds that Cleanup undid it
// meanwhile: it fails with ErrConflict — not an error matching
// fs.ErrNotExist, which callers read as "no such file" — and leaves no
// object behind.
func TestUploadUndoneByCleanupIsConflict(t *testing.T) {
	meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
	st := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Metadata: meta,
		StaleAfter: time.Hour})
	clk := withClock(svc)
	var once atomic.Bool
	meta.setBeforeUpdate(func(f *filestore.FileRecord, _ filestore.FileState) error {
		if f.State == filestore.FileReady && once.CompareAndSwap(false, true) {
			clk.advance(2 * time.Hour) // the object took longer than StaleAfter
			if err := svc.Cleanup(ctx); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	_, err := svc.Upload(ctx, strings.NewReader("slow"), filestore.UploadOptions{Name: "slow"})
	if !errors.Is(err, filestore.ErrConflict) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Upload undone by Cleanup: %v; want ErrConflict, not fs.ErrNotExist", err)
	}
	assertNoObjects(t, st, "")
}

// TestCleanupMeasuresFromLastPart: a resumable upload still receiving
// parts is not stale, however old; one idle for StaleAfter is aborted.
func TestCleanupMeasuresFromLastPart(t *testing.T) {
	local := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: local}}, StaleAfter: time.Hour})
	clk := withClock(svc)
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ { // a part every 50 minutes: the upload is 2.5 hours old at the end
		clk.advance(50 * time.Minute)
		if _, err := up.WritePart(ctx, n, strings.NewReader("part")); err != nil {
			t.Fatal(err)
		}
		if err := svc.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if parts, err := up.Parts(ctx); err != nil || len(parts) != 3 {
		t.Fatalf("an upload receiving parts was cleaned up: %+v %v", parts, err)
	}
	clk.advance(61 * time.Minute)
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResumeUpload(ctx, up.ID()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an upload idle for over StaleAfter: %v, want it aborted", err)
	}
	assertNoObjects(t, local, "filestore/uploads/")
}

// endless yields zero bytes for ever, counting them; after it has
// yielded at bytes it calls at once.
type endless struct {
	n, at   int64
	reached func()
}

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.n += int64(len(p))
	if e.reached != nil && e.n >= e.at {
		e.reached()
		e.reached = nil
	}
	return len(p), nil
}

// TestWritePartBounded: a part larger than MaxPartSize fails with
// fs.ErrInvalid having read no more than one byte past the bound, and a
// cancelled ctx stops the copy at once — both where a part is spooled to
// a file for S3 and where it is stored as an object.
func TestWritePartBounded(t *testing.T) {
	for name, st := range completeBackends(t) {
		t.Run(name, func(t *testing.T) {
			svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: name, Store: st}}, MaxPartSize: 1 << 20})
			up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "big"})
			if err != nil {
				t.Fatal(err)
			}
			src := &endless{}
			if _, err := up.WritePart(ctx, 1, io.LimitReader(src, 64<<20)); !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("a part over MaxPartSize: %v, want fs.ErrInvalid", err)
			}
			if src.n > 1<<20+1 {
				t.Fatalf("read %d bytes of a part bounded to %d", src.n, 1<<20)
			}
			if _, err := up.WritePart(ctx, 1, bytes.NewReader(make([]byte, 1<<20))); err != nil {
				t.Fatalf("a part of exactly MaxPartSize: %v", err)
			}

			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			src = &endless{at: 64 << 10, reached: cancel}
			_, err = up.WritePart(cctx, 2, smallReads{io.LimitReader(src, 512<<10)})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("WritePart with its ctx cancelled mid-part: %v", err)
			}
			if src.n > 64<<10+32<<10 {
				t.Fatalf("read %d bytes, though ctx ended at %d", src.n, 64<<10)
			}
			if parts, err := up.Parts(ctx); err != nil || len(parts) != 1 {
				t.Fatalf("parts recorded: %+v %v; want the first only", parts, err)
			}
			if err := up.Abort(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// smallReads reads through r at most 32 KiB at a time.
type smallReads struct{ r io.Reader }

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 32<<10)]) }

// blockingList is memstore whose List waits until its ctx ends, as
// listing a backend of millions of files (the orphan scan) takes long;
// it records why the ctx ended.
type blockingList struct {
	driver.Bucket
	entered chan struct{}
	once    sync.Once
	cause   error
}

func (b *blockingList) List(ctx context.Context, _ *driver.ListOptions) (*driver.ListPage, error) {
	b.once.Do(func() { close(b.entered) })
	<-ctx.Done()
	b.cause = context.Cause(ctx)
	return nil, ctx.Err()
}

// TestCloseCancelsBackgroundCleanup: Close cancels the background
// Cleanup that is running — whose own bound is CleanupEvery, an hour
// here — rather than waiting for it, as a process told to stop must. In
// a synctest bubble, time moves only when everything waits: Close takes
// no time at all, and the Cleanup's ctx ends because of Close.
func TestCloseCancelsBackgroundCleanup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &blockingList{Bucket: memstore.New(), entered: make(chan struct{})}
		st, err := filestore.NewStore(b)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		svc, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "mem", Store: st}},
			CleanupEvery: time.Hour, RemoveOrphans: true})
		if err != nil {
			t.Fatal(err)
		}
		<-b.entered // an hour in: the background Cleanup lists the backend
		start := time.Now()
		if err := svc.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 || !errors.Is(b.cause, filestore.ErrClosed) {
			t.Fatalf("Close took %v, the running Cleanup's ctx ended with %v; want at once, by Close (ErrClosed)", d, b.cause)
		}
	})
}
