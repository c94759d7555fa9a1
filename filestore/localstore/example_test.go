package localstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/localstore"
)

// Example opens a directory by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/filestore/localstore"
//
// registers file://. A deployment names its directory
// ("file:///srv/files?mkdir=true"). An object is a plain file under it,
// which other programs read as it is.
func Example() {
	dir, err := os.MkdirTemp("", "localstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := filestore.Open(ctx, "file://"+filepath.ToSlash(dir)+"/files?mkdir=true")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_, err = s.Put(ctx, "reports/q3.csv", strings.NewReader("region,total\nnorth,42\n"),
		&filestore.PutOptions{ContentType: "text/csv"})
	if err != nil {
		log.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "files", "reports", "q3.csv"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("on disk: %q\n", b)
	// Output: on disk: "region,total\nnorth,42\n"
}

// ExampleNew makes the backend with Options (here creating the missing
// directory) and wraps it in a Store. A file that another program wrote
// into the directory is an object too, though with no recorded digest.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "localstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	root := filepath.Join(dir, "files")
	b, err := localstore.New(root, &localstore.Options{Mkdir: true})
	if err != nil {
		log.Fatal(err)
	}
	s, err := filestore.NewStore(b)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if err := os.WriteFile(filepath.Join(root, "notes.txt"), []byte("written by hand"), 0o644); err != nil {
		log.Fatal(err)
	}
	info, err := s.Stat(context.Background(), "notes.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, info.Size, "digest known:", info.SHA256 != nil)
	// Output: notes.txt 15 digest known: false
}
