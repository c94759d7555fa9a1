package storetest

import (
	"bytes"
	"errors"
	"io/fs"
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
		if err := m.PutFile(ctx, f); err != nil {
			t.Fatal(err)
		}
		f.State = filestore.FileReady
		if err := m.PutFile(ctx, f); err != nil {
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
			if err := m.PutFile(ctx, r); err != nil {
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
			if err := m.PutPart(ctx, "u1", filestore.PartRecord{Number: n, Size: int64(n * 10), ETag: "e"}); err != nil {
				t.Fatal(err)
			}
		}
		parts, err := m.Parts(ctx, "u1")
		if err != nil || len(parts) != 3 || parts[0].Number != 1 || parts[2].Number != 3 || parts[1].Size != 20 {
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
