//go:build linux

package testserver

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmware/go-nfs-client/nfs"
	"github.com/vmware/go-nfs-client/nfs/rpc"
)

// TestStartNFS: inside its namespace, go-nfs-client mounts the export,
// writes a file the server's disk then holds byte for byte, and reads it
// back.
func TestStartNFS(t *testing.T) {
	if InNetns(t) {
		return
	}
	srv := StartNFS(t)
	m, err := nfs.DialMount(srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	target, err := m.Mount(srv.Export, rpc.NewAuthUnix("groundwork", 0, 0).Auth())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmount()
	defer target.Close()
	data := []byte("written over NFSv3\x00\xff")
	w, err := target.OpenFile("hello.bin", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(srv.Export, "hello.bin"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("on the server's disk: %q %v", onDisk, err)
	}
	r, err := target.Open("hello.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back over NFS: %q %v", got, err)
	}
}
