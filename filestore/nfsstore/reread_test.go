package nfsstore_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/groundwork-go/groundwork/filestore/nfsstore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestReplacedBeforeFirstRead: the file is replaced between Open's
// LOOKUP and its first READ; the old handle is stale, and since nothing
// was handed out yet Open looks the name up again: the Reader describes
// and reads the new version, whole.
func TestReplacedBeforeFirstRead(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	_, s := server(t, "")
	ctx := context.Background()
	v1, v2 := bytes.Repeat([]byte("1"), 3000), bytes.Repeat([]byte("2"), 5000)
	if _, err := s.Put(ctx, "doc", bytes.NewReader(v1), nil); err != nil {
		t.Fatal(err)
	}
	lookups := 0
	nfsstore.SetAfterLookup(func() {
		lookups++
		if lookups == 1 {
			if _, err := s.Put(ctx, "doc", bytes.NewReader(v2), nil); err != nil {
				t.Error(err)
			}
		}
	})
	defer nfsstore.SetAfterLookup(nil)
	r, err := s.Open(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, v2) || r.Size() != int64(len(v2)) {
		t.Fatalf("read %d bytes (size %d), %v; want the new version's %d, described as such", len(got), r.Size(), err, len(v2))
	}
	if lookups != 2 {
		t.Fatalf("%d lookups, want 2: the first file's handle went stale", lookups)
	}
}
