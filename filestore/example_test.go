package filestore_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/memstore"
)

func Example() {
	ctx := context.Background()
	s, err := filestore.Open(ctx, "mem://") // or file:///srv/files, s3://bucket, ...
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	info, err := s.Put(ctx, "reports/2026/q3.csv", strings.NewReader("region,total\nnorth,42\n"),
		&filestore.PutOptions{ContentType: "text/csv"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stored %d bytes, sha256 %x...\n", info.Size, info.SHA256[:4])

	r, err := s.Open(ctx, "reports/2026/q3.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = r.Seek(13, io.SeekStart)
	rest, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("from offset 13: %q\n", rest)

	for info, err := range s.List(ctx, "reports/") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("listed", info.Name, info.ContentType)
	}
	entries, _ := fs.ReadDir(s.FS(), "reports")
	fmt.Println("as a directory:", entries[0].Name(), entries[0].IsDir())

	_, err = s.Put(ctx, "reports/2026/q3.csv", strings.NewReader("x"), &filestore.PutOptions{IfNotExist: true})
	fmt.Println("again with IfNotExist:", errors.Is(err, fs.ErrExist))
	// Output:
	// stored 22 bytes, sha256 83724250...
	// from offset 13: "north,42\n"
	// listed reports/2026/q3.csv text/csv
	// as a directory: 2026 true
	// again with IfNotExist: true
}

// ExampleStore_NewWriter writes an object as it is produced: nothing is
// visible under the name until Close stores it whole.
func ExampleStore_NewWriter() {
	ctx := context.Background()
	s, err := filestore.Open(ctx, "mem://")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	w, err := s.NewWriter(ctx, "exports/totals.csv", &filestore.PutOptions{ContentType: "text/csv"})
	if err != nil {
		fmt.Println(err)
		return
	}
	out := csv.NewWriter(w)
	_ = out.Write([]string{"region", "total"})
	_ = out.Write([]string{"north", "42"})
	out.Flush()
	_, err = s.Stat(ctx, "exports/totals.csv")
	fmt.Println("before Close:", errors.Is(err, fs.ErrNotExist))
	if err := errors.Join(out.Error(), w.Close()); err != nil { // a failed write: Close discards
		fmt.Println(err)
		return
	}
	fmt.Printf("after Close: %d bytes, sha256 %x...\n", w.Info().Size, w.Info().SHA256[:4])

	// A Writer whose ctx ends stores nothing.
	cctx, cancel := context.WithCancel(ctx)
	w, _ = s.NewWriter(cctx, "exports/partial.csv", nil)
	_, _ = io.WriteString(w, "region,total\n")
	cancel()
	fmt.Println("cancelled:", w.Close())
	_, err = s.Stat(ctx, "exports/partial.csv")
	fmt.Println("partial stored:", !errors.Is(err, fs.ErrNotExist))
	// Output:
	// before Close: true
	// after Close: 22 bytes, sha256 83724250...
	// cancelled: context canceled
	// partial stored: false
}

// ExampleNewService names the Service's backends and routes uploads
// among them by size; a policy naming a backend not configured is
// refused.
func ExampleNewService() {
	ctx := context.Background()
	fast, _ := filestore.Open(ctx, "mem://") // nfs://... in a deployment
	defer fast.Close()
	archive, _ := filestore.Open(ctx, "mem://") // s3://...
	defer archive.Close()
	svc, err := filestore.NewService(filestore.ServiceOptions{
		Backends: []filestore.Backend{
			{Name: "fast", Store: fast},
			{Name: "archive", Store: archive, Aliases: []string{"s3"}}, // records written as "s3" read from here
		},
		Policy: filestore.Policy{
			Rules:     []filestore.Rule{{MinSize: 1 << 20, Backends: []string{"archive", "fast"}}},
			Otherwise: []string{"fast", "archive"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	for _, f := range []struct {
		name string
		size int
	}{{"thumb.png", 9}, {"scan.tiff", 2 << 20}} {
		rec, err := svc.Upload(ctx, bytes.NewReader(make([]byte, f.size)), filestore.UploadOptions{Name: f.name, Size: int64(f.size)})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s -> %s\n", rec.Name, rec.Backend)
	}

	_, err = filestore.NewService(filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "fast", Store: fast}},
		Policy:   filestore.Policy{Otherwise: []string{"fast", "archive"}},
	})
	fmt.Println(err)
	// Output:
	// thumb.png -> fast
	// scan.tiff -> archive
	// filestore: NewService: invalid argument: ServiceOptions.Policy.Otherwise names backend "archive", which ServiceOptions.Backends does not have
}
