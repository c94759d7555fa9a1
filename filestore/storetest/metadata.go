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
	const callers = 8
	won := make(chan int64, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := *f
			r.Size, r.State = int64(i+1), filestore.FileReady
			switch err := m.UpdateFile(ctx, &r, filestore.FilePending); {
			case err == nil:
				won <- r.Size
			case !errors.Is(err, filestore.ErrConflict):
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
	got, err := m.GetFile(ctx, "race")
	if len(winners) != 1 || err != nil || got.Size != winners[0] || got.State != filestore.FileReady {
		t.Fatalf("winners %v, record %+v %v; want exactly one, its record stored", winners, got, err)
	}
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
