package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/hdfsstore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// hdfsSetup starts the HDFS double (128 MiB blocks, Hadoop's default;
// block data in files, HDFSBlockDir: held in memory, its appends and the
// GC of a heap of blocks took more CPU than either client) and returns an
// hdfsstore store on it and the store's own colinmarc client, so both
// sides share the connections.
func hdfsSetup(b *testing.B) (*filestore.Store, *hdfs.Client) {
	srv := testserver.StartHDFS(b, testserver.HDFSBlockSize(128<<20), testserver.HDFSBlockDir(b.TempDir()))
	s, err := filestore.Open(context.Background(), "hdfs://"+srv.NameNode()+"/bench/store?user=groundwork")
	must(b, err)
	b.Cleanup(func() { s.Close() })
	var c *hdfs.Client
	if !s.As(&c) {
		b.Fatal("As(*hdfs.Client)")
	}
	must(b, c.MkdirAll("/bench/raw", 0o755))
	return s, c
}

// BenchmarkHDFSPut: hdfsstore's Put (SHA-256, a temporary file, its
// attributes in an xattr, a rename over the name, whose old blocks go)
// against the raw client's Create + Write + Close of a new file, same
// double, same client. The raw side's files are removed outside the
// timer, in batches, so it pays for no delete.
func BenchmarkHDFSPut(b *testing.B) {
	s, c := hdfsSetup(b)
	ctx := context.Background()
	for _, sz := range fileSizes {
		data := randomBytes(b, sz.n)
		b.Run(sz.name+"/hdfsstore", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Put(ctx, "obj-"+sz.name, bytes.NewReader(data), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/colinmarc", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			batch := max(1, (64<<20)/sz.n) // files kept before the untimed removal
			var made []string
			for b.Loop() {
				name := fmt.Sprintf("/bench/raw/obj-%s-%d", sz.name, len(made))
				w, err := c.Create(name)
				must(b, err)
				if _, err := w.Write(data); err != nil {
					b.Fatal(err)
				}
				must(b, w.Close())
				if made = append(made, name); len(made) == batch {
					b.StopTimer()
					removeAll(b, c, made)
					made = made[:0]
					b.StartTimer()
				}
			}
			removeAll(b, c, made)
		})
	}
}

func removeAll(b *testing.B, c *hdfs.Client, names []string) {
	for _, n := range names {
		must(b, c.Remove(n))
	}
}

// BenchmarkHDFSGet: hdfsstore's Open + io.Copy to io.Discard against the
// raw client's Open + the same copy, same file size, same double.
func BenchmarkHDFSGet(b *testing.B) {
	s, c := hdfsSetup(b)
	ctx := context.Background()
	for _, sz := range fileSizes {
		data := randomBytes(b, sz.n)
		_, err := s.Put(ctx, "obj-"+sz.name, bytes.NewReader(data), nil)
		must(b, err)
		b.Run(sz.name+"/hdfsstore", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.Open(ctx, "obj-"+sz.name)
				must(b, err)
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
		b.Run(sz.name+"/colinmarc", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				f, err := c.Open("/bench/store/obj-" + sz.name)
				must(b, err)
				if _, err := io.Copy(io.Discard, f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}
