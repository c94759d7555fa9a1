package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"strings"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/memstore"
)

// Example opens an in-memory store by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/filestore/memstore"
//
// registers mem://. Each Open makes a new, empty store, whatever the name:
// objects are not shared between Opens, and go with the process.
func Example() {
	ctx := context.Background()
	s, err := filestore.Open(ctx, "mem://avatars")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_, err = s.Put(ctx, "users/7.png", strings.NewReader("\x89PNG..."), &filestore.PutOptions{
		ContentType: "image/png",
		Metadata:    map[string]string{"uploaded-by": "user-7"},
	})
	if err != nil {
		log.Fatal(err)
	}
	info, err := s.Stat(ctx, "users/7.png")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, info.Size, info.ContentType, info.Metadata["uploaded-by"])

	if err := s.Delete(ctx, "users/7.png"); err != nil {
		log.Fatal(err)
	}
	_, err = s.Stat(ctx, "users/7.png")
	fmt.Println("after Delete:", errors.Is(err, fs.ErrNotExist))
	// Output:
	// users/7.png 7 image/png user-7
	// after Delete: true
}

// ExampleNew wraps a backend made with New, as tests do that want a
// Store without going through a URL.
func ExampleNew() {
	ctx := context.Background()
	s, err := filestore.NewStore(memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if _, err := s.Put(ctx, "greeting.txt", strings.NewReader("hello"), nil); err != nil {
		log.Fatal(err)
	}
	r, err := s.Open(ctx, "greeting.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", b)
	// Output: hello
}
