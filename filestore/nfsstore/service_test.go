package nfsstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestServiceOnNFS: the storage service sends a latency-first upload to
// the NFS backend, and a resumable upload's parts are composed there;
// both files are on the server's disk, whole.
func TestServiceOnNFS(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv, nfs := server(t, "")
	ctx := context.Background()
	local, err := filestore.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	svc, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "nfs", Store: nfs}, {Name: "local", Store: local}},
		Policy: filestore.TieredPolicy(filestore.Tiers{Fast: "nfs", Last: []string{"local"}})})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	data := bytes.Repeat([]byte("thumbnail "), 1000)
	rec, err := svc.Upload(ctx, bytes.NewReader(data), filestore.UploadOptions{Name: "thumb.png", Priority: filestore.PriorityLatency})
	if err != nil || rec.Backend != "nfs" {
		t.Fatalf("latency-first upload: %+v %v", rec, err)
	}
	id := rec.ID
	if onDisk, err := os.ReadFile(filepath.Join(srv.Export, filepath.FromSlash(rec.Path))); err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("on the server's disk: %d bytes, %v", len(onDisk), err)
	}
	r, _, err := svc.Download(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}

	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "scan.tiff", Priority: filestore.PriorityLatency})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{bytes.Repeat([]byte{1}, 300_000), bytes.Repeat([]byte{2}, 200_000), []byte("end")}
	var whole []byte
	for n, p := range parts {
		if _, err := up.WritePart(ctx, n+1, bytes.NewReader(p)); err != nil {
			t.Fatal(err)
		}
		whole = append(whole, p...)
	}
	rec, err = up.Complete(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(whole)
	if rec.Backend != "nfs" || !bytes.Equal(rec.SHA256, sum[:]) {
		t.Fatalf("completed upload: %+v", rec)
	}
	if onDisk, err := os.ReadFile(filepath.Join(srv.Export, filepath.FromSlash(rec.Path))); err != nil || !bytes.Equal(onDisk, whole) {
		t.Fatalf("composed file on the server's disk: %d bytes, %v", len(onDisk), err)
	}
	for info, err := range nfs.List(ctx, filestore.DefaultNamespace+"uploads/") {
		t.Fatalf("part left behind: %v %v", info, err)
	}
}
