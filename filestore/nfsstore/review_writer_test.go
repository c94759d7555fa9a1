package nfsstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// sockets counts the process's open sockets.
func sockets(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

// TestReviewWriterClosedAfterStore: a Writer closed after its Store
// removes its temporary file over the Store's connection, which is then
// closed: it used to dial a new one (the closed bucket reconnects on
// demand) and leave it open for good.
func TestReviewWriterClosedAfterStore(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv := testserver.StartNFS(t)
	before := sockets(t)
	s, err := filestore.Open(context.Background(), "nfs://"+srv.Host+srv.Export)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(context.Background(), "open", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("some content")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, filestore.ErrClosed) {
		t.Fatalf("Writer.Close after Store.Close: %v, want ErrClosed", err)
	}
	if after := sockets(t); after != before {
		t.Fatalf("%d sockets open before the store, %d once it and its Writer are closed", before, after)
	}
	if left, _ := os.ReadDir(srv.Export + "/.filestore/tmp"); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestReviewAttributesInTheWay: when the attributes file cannot be put
// in place (here a directory on the server stands where it goes), the
// Writer's Close fails and its temporary attributes file is removed, not
// left in .filestore/tmp for good (nothing sweeps it on NFS).
func TestReviewAttributesInTheWay(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv, s := server(t, "")
	if err := os.MkdirAll(srv.Export+"/.filestore/attrs/obj.json/in-the-way", 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(context.Background(), "obj", &filestore.PutOptions{Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("content")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close succeeded without storing the attributes")
	}
	if left, _ := os.ReadDir(srv.Export + "/.filestore/tmp"); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestReviewReaderAfterStoreClosed: a Reader still open when its Store
// is closed does not dial a new connection (and leave it open for good)
// to go on reading: its reads fail.
func TestReviewReaderAfterStoreClosed(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv := testserver.StartNFS(t)
	before := sockets(t)
	s, err := filestore.Open(context.Background(), "nfs://"+srv.Host+srv.Export)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20) // more than one READ
	if _, err := s.Put(context.Background(), "big", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, filestore.ErrClosed) {
		t.Fatalf("read after Store.Close: %v, want ErrClosed", err)
	}
	if after := sockets(t); after != before {
		t.Fatalf("%d sockets open before the store, %d once it is closed and its Reader read", before, after)
	}
}
