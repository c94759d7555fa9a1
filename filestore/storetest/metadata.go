package storetest

import (
	"bytes"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
)

// RunMetadataTests checks a filestore.MetadataStore; newStore returns an
// empty one.
func RunMetadataTests(t *testing.T, newStore func(t *testing.T) filestore.MetadataStore) {
	t.Run("Files", func(t *testing.T) {
		m := newStore(t)
		now := time.Now().UTC().Truncate(time.Microsecond)
		f := &filestore.FileRecord{ID: "f1", Name: "a b.txt", Size: 42, SHA256: digest([]byte("x")), ContentType: "text/plain",
			Backend: "s3", Path: "files/f1/f1", Owner: "ada", Created: now, State: filestore.FilePending}
		if err := m.CreateFile(ctx, f); err != nil {
			t.Fatal(err)
		}
		f.State = filestore.FileReady
		if err := m.UpdateFile(ctx, f, filestore.FilePending); err != nil {
			t.Fatal(err)
		}
		got, err := m.GetFile(ctx, "f1")
		if err != nil || got.Name != f.Name || got.Size != 42 || !bytes.Equal(got.SHA256, f.SHA256) || got.ContentType != f.ContentType ||
			got.Backend != "s3" || got.Path != f.Path || got.Owner != "ada" || !got.Created.Equal(now) || got.State != filestore.FileReady {
			t.Fatalf("GetFile: %+v %v", got, err)
		}
		old := &filestore.FileRecord{ID: "old", Backend: "s3", Path: "p", Created: now.Add(-time.Hour), State: filestore.FilePending}
		gone := &filestore.FileRecord{ID: "gone", Backend: "s3", Path: "q", Created: now.Add(-time.Hour), State: filestore.FileDeleting}
		oldReady := &filestore.FileRecord{ID: "oldready", Backend: "s3", Path: "r", Created: now.Add(-time.Hour), State: filestore.FileReady}
		for _, r := range []*filestore.FileRecord{old, gone, oldReady} {
			if err := m.CreateFile(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		stale, err := m.StaleFiles(ctx, now.Add(-time.Minute))
		if err != nil || len(stale) != 2 {
			t.Fatalf("StaleFiles: %d records, %v; want the pending and the deleting one", len(stale), err)
		}
		if err := m.DeleteFile(ctx, "f1"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.GetFile(ctx, "f1"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("GetFile after delete: %v", err)
		}
		if err := m.DeleteFile(ctx, "f1"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("second delete: %v", err)
		}
	})
	t.Run("CompareAndSet", func(t *testing.T) { testFileCAS(t, newStore(t)) })
	t.Run("ConcurrentCompareAndSet", func(t *testing.T) { testConcurrentCAS(t, newStore(t)) })
	t.Run("StaleSinceLastPart", func(t *testing.T) { testStaleSinceLastPart(t, newStore(t)) })
	t.Run("CompleteUpload", func(t *testing.T) { testCompleteUpload(t, newStore(t)) })
	t.Run("ConcurrentCompleteUpload", func(t *testing.T) { testConcurrentCompleteUpload(t, newStore(t)) })
	t.Run("RefusesBadText", func(t *testing.T) { testRefusesBadText(t, newStore(t)) })
	t.Run("Uploads", func(t *testing.T) {
		m := newStore(t)
		now := time.Now().UTC().Truncate(time.Microsecond)
		u := &filestore.UploadRecord{ID: "u1", Options: filestore.UploadOptions{Name: "v.mp4", Size: 10, Priority: filestore.PriorityArchive,
			Metadata: map[string]string{"k": "v"}, SHA256: digest(nil)}, Backend: "s3", Path: "files/u1", Native: "mpu-1", Created: now}
		if err := m.PutUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := m.GetUpload(ctx, "u1")
		if err != nil || got.Options.Name != "v.mp4" || got.Options.Priority != filestore.PriorityArchive || got.Options.Metadata["k"] != "v" ||
			!bytes.Equal(got.Options.SHA256, digest(nil)) || got.Native != "mpu-1" || !got.Created.Equal(now) {
			t.Fatalf("GetUpload: %+v %v", got, err)
		}
		for _, n := range []int{3, 1, 2, 1} {
			if err := m.PutPart(ctx, "u1", filestore.PartRecord{Number: n, Size: int64(n * 10), ETag: "e", Stored: now}); err != nil {
				t.Fatal(err)
			}
		}
		parts, err := m.Parts(ctx, "u1")
		if err != nil || len(parts) != 3 || parts[0].Number != 1 || parts[2].Number != 3 || parts[1].Size != 20 || !parts[1].Stored.Equal(now) {
			t.Fatalf("Parts: %+v %v", parts, err)
		}
		if err := m.PutPart(ctx, "nope", filestore.PartRecord{Number: 1}); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("part of a missing upload: %v", err)
		}
		stale, err := m.StaleUploads(ctx, now.Add(time.Second))
		if err != nil || len(stale) != 1 {
			t.Fatalf("StaleUploads: %v %v", stale, err)
		}
		if stale, _ := m.StaleUploads(ctx, now.Add(-time.Second)); len(stale) != 0 {
			t.Fatalf("a fresh upload counted stale: %v", stale)
		}
		if err := m.DeleteUpload(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Parts(ctx, "u1"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("parts of a deleted upload: %v", err)
		}
		if _, err := m.GetUpload(ctx, "u1"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("deleted upload: %v", err)
		}
	})
}

// testFileCAS: a record is created once, moves only from the state the
// caller expects, and only forward (pending → ready → deleting, or
// pending → deleting); a refused move changes nothing.
func testFileCAS(t *testing.T, m filestore.MetadataStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	f := &filestore.FileRecord{ID: "cas", Name: "n", Backend: "s3", Path: "p", Created: now, State: filestore.FilePending}
	if err := m.CreateFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	again := *f
	again.Name = "other"
	if err := m.CreateFile(ctx, &again); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateFile of an existing ID: %v, want fs.ErrExist", err)
	}
	ready := *f
	ready.Size, ready.SHA256, ready.State = 5, digest([]byte("hello")), filestore.FileReady
	if err := m.UpdateFile(ctx, &ready, filestore.FileDeleting); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("UpdateFile expecting the wrong state: %v, want ErrConflict", err)
	}
	if err := m.UpdateFile(ctx, &ready, filestore.FilePending); err != nil {
		t.Fatalf("pending → ready: %v", err)
	}
	if err := m.UpdateFile(ctx, &ready, filestore.FilePending); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("pending → ready a second time: %v, want ErrConflict", err)
	}
	back := ready
	back.State, back.Size = filestore.FilePending, 0
	if err := m.UpdateFile(ctx, &back, filestore.FileReady); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("ready → pending: %v, want ErrConflict", err)
	}
	got, err := m.GetFile(ctx, "cas")
	if err != nil || got.State != filestore.FileReady || got.Size != 5 || got.Name != "n" || !bytes.Equal(got.SHA256, ready.SHA256) {
		t.Fatalf("after refused moves: %+v %v; want the ready record unchanged", got, err)
	}
	del := ready
	del.State = filestore.FileDeleting
	if err := m.UpdateFile(ctx, &del, filestore.FileReady); err != nil {
		t.Fatalf("ready → deleting: %v", err)
	}
	if err := m.UpdateFile(ctx, &ready, filestore.FileDeleting); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("deleting → ready: %v, want ErrConflict", err)
	}
	missing := ready
	missing.ID = "missing"
	if err := m.UpdateFile(ctx, &missing, filestore.FilePending); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("UpdateFile of a missing record: %v, want fs.ErrNotExist", err)
	}
}

// testConcurrentCAS: of many callers moving one pending record to ready
// at once, exactly one succeeds and the record is that one's.
func testConcurrentCAS(t *testing.T, m filestore.MetadataStore) {
	f := &filestore.FileRecord{ID: "race", Backend: "s3", Path: "p", Created: time.Now().UTC(), State: filestore.FilePending}
	if err := m.CreateFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	oneWinner(t, m, f, func(r *filestore.FileRecord) error { return m.UpdateFile(ctx, r, filestore.FilePending) },
		func(err error) bool { return errors.Is(err, filestore.ErrConflict) })
}

// testStaleSinceLastPart: an upload is stale when idle — created before
// the time and no part stored since — not merely old.
func testStaleSinceLastPart(t *testing.T, m filestore.MetadataStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, id := range []string{"active", "idle", "empty"} {
		if err := m.PutUpload(ctx, &filestore.UploadRecord{ID: id, Backend: "s3", Path: "p/" + id, Created: now.Add(-3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		id     string
		stored time.Time
	}{{"active", now.Add(-2 * time.Hour)}, {"active", now.Add(-time.Minute)}, {"idle", now.Add(-2 * time.Hour)}} {
		n := 1
		if parts, _ := m.Parts(ctx, p.id); len(parts) > 0 {
			n = len(parts) + 1
		}
		if err := m.PutPart(ctx, p.id, filestore.PartRecord{Number: n, Size: 1, Stored: p.stored}); err != nil {
			t.Fatal(err)
		}
	}
	stale, err := m.StaleUploads(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range stale {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"empty", "idle"}) {
		t.Fatalf("stale uploads %q; want the idle and the empty one, not the one whose last part is a minute old", ids)
	}
}

// testCompleteUpload: CompleteUpload moves the file from pending to ready
// and removes the upload with its parts, together; when either cannot
// be done, neither is.
func testCompleteUpload(t *testing.T, m filestore.MetadataStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &filestore.UploadRecord{ID: "up", Options: filestore.UploadOptions{Name: "n"}, Backend: "s3", Path: "files/up", Created: now}
	if err := m.PutUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := m.PutPart(ctx, "up", filestore.PartRecord{Number: 1, Size: 5, Stored: now}); err != nil {
		t.Fatal(err)
	}
	ready := &filestore.FileRecord{ID: "up", Name: "n", Size: 5, SHA256: digest([]byte("hello")), Backend: "s3", Path: "files/up",
		Created: now, State: filestore.FileReady}
	if err := m.CompleteUpload(ctx, ready); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("CompleteUpload without a file record: %v, want ErrConflict", err)
	}
	if parts, err := m.Parts(ctx, "up"); err != nil || len(parts) != 1 {
		t.Fatalf("the upload after a refused CompleteUpload: %+v %v; want it whole", parts, err)
	}
	pending := *ready
	pending.Size, pending.SHA256, pending.State = 0, nil, filestore.FilePending
	if err := m.CreateFile(ctx, &pending); err != nil {
		t.Fatal(err)
	}
	notReady := *ready
	notReady.State = filestore.FileDeleting
	if err := m.CompleteUpload(ctx, &notReady); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("CompleteUpload to a state other than ready: %v, want ErrConflict", err)
	}
	if err := m.CompleteUpload(ctx, ready); err != nil {
		t.Fatal(err)
	}
	got, err := m.GetFile(ctx, "up")
	if err != nil || got.State != filestore.FileReady || got.Size != 5 || !bytes.Equal(got.SHA256, ready.SHA256) {
		t.Fatalf("the file after CompleteUpload: %+v %v", got, err)
	}
	if _, err := m.GetUpload(ctx, "up"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the upload after CompleteUpload: %v, want gone", err)
	}
	if _, err := m.Parts(ctx, "up"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the parts after CompleteUpload: %v, want gone", err)
	}
	if err := m.CompleteUpload(ctx, ready); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CompleteUpload again: %v, want fs.ErrNotExist (no upload)", err)
	}

	// A file deleted after its upload completed: a pending record made
	// again cannot be completed, the upload being gone.
	if err := m.DeleteFile(ctx, "up"); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateFile(ctx, &pending); err != nil {
		t.Fatal(err)
	}
	if err := m.CompleteUpload(ctx, ready); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CompleteUpload of a gone upload: %v, want fs.ErrNotExist", err)
	}
	if got, err := m.GetFile(ctx, "up"); err != nil || got.State != filestore.FilePending {
		t.Fatalf("the file after a refused CompleteUpload: %+v %v; want it pending, unchanged", got, err)
	}

	// A file not pending (Cleanup undoing it): the upload stays.
	if err := m.PutUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	del := pending
	del.State = filestore.FileDeleting
	if err := m.UpdateFile(ctx, &del, filestore.FilePending); err != nil {
		t.Fatal(err)
	}
	if err := m.CompleteUpload(ctx, ready); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("CompleteUpload of a file being deleted: %v, want ErrConflict", err)
	}
	if _, err := m.GetUpload(ctx, "up"); err != nil {
		t.Fatalf("the upload after a refused CompleteUpload: %v; want it kept", err)
	}
}

// testConcurrentCompleteUpload: of many callers completing one upload at
// once, exactly one succeeds, and the record is that one's.
func testConcurrentCompleteUpload(t *testing.T, m filestore.MetadataStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := m.PutUpload(ctx, &filestore.UploadRecord{ID: "race", Backend: "s3", Path: "p", Created: now}); err != nil {
		t.Fatal(err)
	}
	f := &filestore.FileRecord{ID: "race", Backend: "s3", Path: "p", Created: now, State: filestore.FilePending}
	if err := m.CreateFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	oneWinner(t, m, f, func(r *filestore.FileRecord) error { return m.CompleteUpload(ctx, r) },
		func(err error) bool { return errors.Is(err, fs.ErrNotExist) || errors.Is(err, filestore.ErrConflict) })
}

// oneWinner has 8 callers at once make the pending record f ready, each
// with its own Size, through move; a caller that lost is told so by an
// error lost accepts. Exactly one may win, and the stored record must be
// the winner's.
func oneWinner(t *testing.T, m filestore.MetadataStore, f *filestore.FileRecord, move func(*filestore.FileRecord) error, lost func(error) bool) {
	t.Helper()
	const callers = 8
	won := make(chan int64, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := *f
			r.Size, r.State = int64(i+1), filestore.FileReady
			switch err := move(&r); {
			case err == nil:
				won <- r.Size
			case !lost(err):
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []int64
	for w := range won {
		winners = append(winners, w)
	}
	got, err := m.GetFile(ctx, f.ID)
	if len(winners) != 1 || err != nil || got.Size != winners[0] || got.State != filestore.FileReady {
		t.Fatalf("winners %v, record %+v %v; want exactly one, its record stored", winners, got, err)
	}
}

// testRefusesBadText: every store refuses, alike, text some store cannot
// keep (not UTF-8, or holding NUL) with fs.ErrInvalid, storing nothing,
// and finds nothing under an ID no record can have.
func testRefusesBadText(t *testing.T, m filestore.MetadataStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, f := range []*filestore.FileRecord{
		{ID: "f1", Name: "n", Owner: "alice\x00admin", Backend: "s3", Path: "p", Created: now, State: filestore.FilePending},
		{ID: "f2", Name: "caf\xe9", Backend: "s3", Path: "p", Created: now, State: filestore.FilePending},
		{ID: "f3", Name: "n", ContentType: "text/plain\x00", Backend: "s3", Path: "p", Created: now, State: filestore.FilePending},
	} {
		if err := m.CreateFile(ctx, f); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("CreateFile %+v: %v, want fs.ErrInvalid", f, err)
		}
		if _, err := m.GetFile(ctx, f.ID); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a refused record was stored: %v", err)
		}
	}
	good := &filestore.FileRecord{ID: "g", Name: "n", Backend: "s3", Path: "p", Created: now, State: filestore.FilePending}
	if err := m.CreateFile(ctx, good); err != nil {
		t.Fatal(err)
	}
	bad := *good
	bad.Name, bad.State = "a\x00b", filestore.FileReady
	if err := m.UpdateFile(ctx, &bad, filestore.FilePending); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("UpdateFile to a name with NUL: %v, want fs.ErrInvalid", err)
	}
	for _, o := range []filestore.UploadOptions{{Name: "caf\xe9"}, {Name: "n", Owner: "\x00"}, {Name: "n", Metadata: map[string]string{"k": "\x00"}}} {
		if err := m.PutUpload(ctx, &filestore.UploadRecord{ID: "u", Options: o, Backend: "s3", Path: "p", Created: now}); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("PutUpload with options %+v: %v, want fs.ErrInvalid", o, err)
		}
	}
	for _, id := range []string{"a\x00b", "\xff"} {
		if _, err := m.GetFile(ctx, id); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("GetFile(%q): %v, want fs.ErrNotExist", id, err)
		}
		if _, err := m.GetUpload(ctx, id); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("GetUpload(%q): %v, want fs.ErrNotExist", id, err)
		}
		if err := m.DeleteFile(ctx, id); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("DeleteFile(%q): %v, want fs.ErrNotExist", id, err)
		}
		if err := m.PutPart(ctx, id, filestore.PartRecord{Number: 1}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("PutPart(%q): %v, want fs.ErrNotExist", id, err)
		}
	}
}
