package filestore_test

import (
	"context"
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
