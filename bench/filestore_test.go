package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	_ "github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

var fileSizes = []struct {
	name string
	n    int
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"256MiB", 256 << 20}}

func randomBytes(b *testing.B, n int) []byte {
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkLocalPut: localstore's Put against os.WriteFile into the same
// directory tree, with and without fsync (localstore fsyncs by default;
// "os.WriteFile+Sync" writes, fsyncs and closes the file).
func BenchmarkLocalPut(b *testing.B) {
	ctx := context.Background()
	for _, sz := range fileSizes {
		data := randomBytes(b, sz.n)
		for _, fsync := range []bool{false, true} {
			dir := b.TempDir()
			s, err := filestore.Open(ctx, fmt.Sprintf("file://%s?fsync=%v", dir, fsync))
			must(b, err)
			suffix := ""
			if fsync {
				suffix = "+fsync"
			}
			b.Run(sz.name+"/localstore"+suffix, func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					if _, err := s.Put(ctx, fmt.Sprintf("d/%d", i%16), bytes.NewReader(data), nil); err != nil {
						b.Fatal(err)
					}
				}
			})
			s.Close()
			raw := filepath.Join(b.TempDir(), "d")
			must(b, os.MkdirAll(raw, 0o755))
			b.Run(sz.name+"/os.WriteFile"+suffix, func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					must(b, writeFile(filepath.Join(raw, fmt.Sprint(i%16)), data, fsync))
				}
			})
		}
	}
}

func writeFile(name string, data []byte, fsync bool) error {
	if !fsync {
		return os.WriteFile(name, data, 0o644)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkLocalGet: localstore's Open + io.ReadAll against os.ReadFile.
func BenchmarkLocalGet(b *testing.B) {
	ctx := context.Background()
	for _, sz := range fileSizes {
		data := randomBytes(b, sz.n)
		dir := b.TempDir()
		s, err := filestore.Open(ctx, "file://"+dir)
		must(b, err)
		_, err = s.Put(ctx, "obj", bytes.NewReader(data), nil)
		must(b, err)
		b.Run(sz.name+"/localstore", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.Open(ctx, "obj")
				must(b, err)
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
		b.Run(sz.name+"/os.ReadFile", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := os.ReadFile(filepath.Join(dir, "obj")); err != nil {
					b.Fatal(err)
				}
			}
		})
		s.Close()
	}
}

// s3Setup starts versitygw and returns a groundwork store and a raw
// transfer manager with the same part size and concurrency.
func s3Setup(b *testing.B) (*filestore.Store, *s3.Client, *transfermanager.Client) {
	gw := testserver.StartS3(b, "bench")
	gw.UseCredentials(b)
	s, err := filestore.Open(context.Background(), gw.URL("bench", "gw/"))
	must(b, err)
	b.Cleanup(func() { s.Close() })
	var client *s3.Client
	if !s.As(&client) {
		b.Fatal("As(*s3.Client)")
	}
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.MultipartUploadThreshold, o.Concurrency = 5<<20, 5<<20, 2
	})
	return s, client, tm
}

// BenchmarkS3Put: s3store's Put (which also computes and stores the
// SHA-256) against the raw transfer manager's UploadObject, same
// versitygw, same part size (5 MiB) and concurrency (2).
func BenchmarkS3Put(b *testing.B) {
	s, _, tm := s3Setup(b)
	ctx := context.Background()
	for _, sz := range fileSizes {
		data := randomBytes(b, sz.n)
		b.Run(sz.name+"/groundwork", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Put(ctx, "obj-"+sz.name, bytes.NewReader(data), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/transfermanager", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String("bench"),
					Key: aws.String("raw/obj-" + sz.name), Body: bytes.NewReader(data)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkS3Get: s3store's Open + read against the transfer manager's
// GetObject and a plain s3 GetObject, same object size and gateway.
func BenchmarkS3Get(b *testing.B) {
	s, client, tm := s3Setup(b)
	ctx := context.Background()
	for _, sz := range fileSizes {
		data := randomBytes(b, sz.n)
		_, err := s.Put(ctx, "obj-"+sz.name, bytes.NewReader(data), nil)
		must(b, err)
		key := aws.String("gw/obj-" + sz.name)
		b.Run(sz.name+"/groundwork", func(b *testing.B) {
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
		b.Run(sz.name+"/transfermanager", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				out, err := tm.GetObject(ctx, &transfermanager.GetObjectInput{Bucket: aws.String("bench"), Key: key})
				must(b, err)
				if _, err := io.Copy(io.Discard, out.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/s3.GetObject", func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: key})
				must(b, err)
				if _, err := io.Copy(io.Discard, out.Body); err != nil {
					b.Fatal(err)
				}
				out.Body.Close()
			}
		})
	}
}
