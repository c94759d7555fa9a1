package localstore_test

import (
	"context"
	"net/url"
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
	for _, q := range []string{"", "fsync=false", "xattrs=false"} {
		t.Run("query="+q, func(t *testing.T) {
			storetest.RunConformanceTests(t, storetest.Harness{
				NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
					return open(t, t.TempDir(), q, opts...)
				},
				NewStoreOnDisk: func(t *testing.T) (*filestore.Store, string) {
					dir := t.TempDir()
					return open(t, dir, q), dir
				},
			})
		})
	}
}
