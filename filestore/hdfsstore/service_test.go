package hdfsstore_test

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
)

// TestServiceOnHDFS: the storage Service, with the tiered policy it
// applied by the fixed names (hdfs the durable tier), sends a large file
// whose priority is durability to the hdfs backend; it downloads whole,
// its digest recorded.
func TestServiceOnHDFS(t *testing.T) {
	_, ss := server(t)
	hdfsStore := ss.open(t)
	ctx := context.Background()
	local, err := filestore.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	svc, err := filestore.NewService(filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "hdfs", Store: hdfsStore}, {Name: "local", Store: local}},
		Policy:   filestore.TieredPolicy(filestore.Tiers{Durable: "hdfs", Last: []string{"local"}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	const size = filestore.LargeFile
	want := sha256.New()
	if _, err := io.Copy(want, &pattern{n: size}); err != nil {
		t.Fatal(err)
	}
	rec, err := svc.Upload(ctx, &pattern{n: size}, filestore.UploadOptions{Name: "scan.tiff", Size: size, Priority: filestore.PriorityDurability})
	if err != nil || rec.Backend != "hdfs" {
		t.Fatalf("large durable upload: %+v %v", rec, err)
	}
	st, err := hdfsStore.Stat(ctx, rec.Path)
	if err != nil || st.Size != size || string(st.SHA256) != string(want.Sum(nil)) {
		t.Fatalf("on HDFS: %+v %v", st, err)
	}
	r, _, err := svc.Download(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := sha256.New()
	if n, err := io.Copy(got, r); err != nil || n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
}
