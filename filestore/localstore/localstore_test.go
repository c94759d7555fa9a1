package localstore_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	"github.com/groundwork-go/groundwork/filestore/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, dir string, query string, opts ...filestore.Option) *filestore.Store {
	t.Helper()
	u := url.URL{Scheme: "file", Path: dir, RawQuery: query}
	s, err := filestore.Open(context.Background(), u.String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	var dirs sync.Map // *filestore.Store -> its directory
	for _, q := range []string{"", "fsync=false", "xattrs=false"} {
		t.Run("query="+q, func(t *testing.T) {
			storetest.RunConformanceTests(t, storetest.Harness{
				NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
					dir := t.TempDir()
					s := open(t, dir, q, opts...)
					dirs.Store(s, dir)
					return s
				},
				// What Writers and Puts under way hold: temporary files.
				Unfinished: func(t *testing.T, s *filestore.Store) []string {
					dir, _ := dirs.Load(s)
					entries, err := os.ReadDir(filepath.Join(dir.(string), ".filestore", "tmp"))
					if err != nil {
						t.Fatal(err)
					}
					var names []string
					for _, e := range entries {
						names = append(names, e.Name())
					}
					return names
				},
				NewStoreOnDisk: func(t *testing.T) (*filestore.Store, string) {
					dir := t.TempDir()
					return open(t, dir, q), dir
				},
			})
		})
	}
}
