package nfsstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/nfsstore"
	"github.com/groundwork-go/groundwork/filestore/storetest"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

var n atomic.Int32

// TestConformance runs the suite against nfs-ganesha (in its own network
// namespace, see testserver.InNetns); each test mounts a directory of its
// own inside the export, and the symbolic-link test plants server-side
// links in it that lead out of it — beside it in the export, and out of
// the export.
func TestConformance(t *testing.T) {
	if testserver.InNetns(t) {
		return
	}
	srv := testserver.StartNFS(t)
	var dirs sync.Map // *filestore.Store -> its directory in the export
	newStore := func(t *testing.T, opts ...filestore.Option) (*filestore.Store, string) {
		dir := filepath.Join(srv.Export, fmt.Sprint("t", n.Add(1)))
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		s, err := filestore.Open(context.Background(), "nfs://"+srv.Host+dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		dirs.Store(s, dir)
		return s, dir
	}
	storetest.RunConformanceTests(t, storetest.Harness{
		NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
			s, _ := newStore(t, opts...)
			return s
		},
		// The links are made on the server's side, in the export's
		// directory, beside the store's own (t<n>.beside) and out of it.
		NewStoreOnDisk: func(t *testing.T) (*filestore.Store, string) { return newStore(t) },
		// What Writers and Puts under way hold: temporary files, read on
		// the server's disk.
		Unfinished: func(t *testing.T, s *filestore.Store) []string {
			dir, _ := dirs.Load(s)
			entries, err := os.ReadDir(filepath.Join(dir.(string), ".filestore", "tmp"))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return names
		},
		LargeSize: 4 << 20,
	})
}
