package nfsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/nfsstore"
)

// Example opens a directory of an NFSv3 export by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/filestore/nfsstore"
//
// registers nfs://. It needs an NFSv3 server (the kernel's nfsd,
// nfs-ganesha, a NAS) exporting /export/files to this host, its portmapper
// reachable on port 111, and AUTH_SYS uid 1000 allowed to write there.
// Having no Output comment, it is compiled but not run by go test.
//
// A Reader of a file that another client replaces fails with ErrReplaced
// rather than mixing versions (NFSv3 has no open-file state): open it
// again.
func Example() {
	ctx := context.Background()
	s, err := filestore.Open(ctx, "nfs://nfs.internal/export/files?uid=1000&gid=1000&timeout=10s")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if _, err := s.Put(ctx, "reports/latest.csv", strings.NewReader("region,total\nnorth,42\n"), nil); err != nil {
		log.Fatal(err)
	}
	var data []byte
	for attempt := 1; ; attempt++ {
		r, err := s.Open(ctx, "reports/latest.csv")
		if err != nil {
			log.Fatal(err)
		}
		data, err = io.ReadAll(r)
		r.Close()
		if err == nil {
			break
		}
		if !errors.Is(err, nfsstore.ErrReplaced) || attempt == 3 {
			log.Fatal(err)
		}
	}
	fmt.Printf("%q\n", data)
}

// ExampleNew connects with New, which reports a bad host or export at
// once, and wraps the backend. It needs a server, as Example does.
func ExampleNew() {
	b, err := nfsstore.New("nfs.internal", "/export/files", &nfsstore.Options{UID: 1000, GID: 1000, Timeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	s, err := filestore.NewStore(b)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	for info, err := range s.List(context.Background(), "reports/") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(info.Name, info.Size)
	}
}
