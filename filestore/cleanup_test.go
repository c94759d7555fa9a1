package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
)

// TestCleanupOrphans: objects under the Service's names that no record
// names — a commit that landed after the Service gave up on it, parts of
// an upload whose record is gone — are removed once older than
// StaleAfter; objects with records, and young orphans, stay.
func TestCleanupOrphans(t *testing.T) {
	_, st := newLossy(t)
	svc := newService(t, filestore.ServiceOptions{Backends: map[string]*filestore.Store{"local": st}, StaleAfter: time.Hour})
	clk := withClock(svc)
	id, _, err := svc.Upload(ctx, strings.NewReader("kept"), filestore.UploadOptions{Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	live, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.WritePart(ctx, 1, strings.NewReader("part")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"files/ab/ab0123", "uploads/gone/000001", "elsewhere/not-ours"} {
		if _, err := st.Put(ctx, name, strings.NewReader("orphan"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countObjects(t, st, ""); n != 5 {
		t.Fatalf("%d objects after a Cleanup with nothing stale, want 5", n)
	}
	clk.advance(30 * time.Minute)
	if _, err := live.WritePart(ctx, 2, strings.NewReader("part")); err != nil { // keeps the upload active
		t.Fatal(err)
	}
	clk.advance(50 * time.Minute) // the orphans are 80 minutes old, the last part 50
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	for info, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, info.Name)
	}
	want := []string{"elsewhere/not-ours", "files/", "uploads/" + live.ID() + "/000001", "uploads/" + live.ID() + "/000002"}
	if len(left) != 4 || left[0] != want[0] || !strings.HasPrefix(left[1], want[1]) || left[2] != want[2] || left[3] != want[3] {
		t.Fatalf("objects after Cleanup: %q; want the file, the live upload's parts and the object outside the Service's names", left)
	}
	if _, err := svc.Stat(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// TestCleanupMeasuresFromLastPart: a resumable upload still receiving
// parts is not stale, however old; one idle for StaleAfter is aborted.
func TestCleanupMeasuresFromLastPart(t *testing.T) {
	local := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: map[string]*filestore.Store{"local": local}, StaleAfter: time.Hour})
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
	assertNoObjects(t, local, "uploads/")
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
			svc := newService(t, filestore.ServiceOptions{Backends: map[string]*filestore.Store{name: st}, MaxPartSize: 1 << 20})
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
