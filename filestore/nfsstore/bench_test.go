package nfsstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// BenchmarkNFS: Put and Get through nfsstore against nfs-ganesha (VFS on
// this machine's disk), in MB/s. Run inside a namespace with rpcbind:
//
//	scripts/netns-run go test -run XXX -bench NFS -benchmem ./filestore/nfsstore
func BenchmarkNFS(b *testing.B) {
	if os.Getenv("GROUNDWORK_NETNS") == "" {
		b.Skip("run through scripts/netns-run (the NFS server needs its own network namespace)")
	}
	srv := testserver.StartNFSB(b)
	ctx := context.Background()
	s, err := filestore.Open(ctx, "nfs://"+srv.Host+srv.Export)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, sz := range []struct {
		name string
		n    int
	}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"256MiB", 256 << 20}} {
		data := make([]byte, sz.n)
		_, _ = rand.Read(data)
		b.Run("Put/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Put(ctx, "obj-"+sz.name, bytes.NewReader(data), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Get/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.Open(ctx, "obj-"+sz.name)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
