package nfsstore_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server starts ganesha (in the test's namespace: call
// testserver.InNetns first) and opens a store on its export, with query
// as the URL's parameters; the store is closed when t ends.
func server(t *testing.T, query string) (*testserver.NFS, *filestore.Store) {
	t.Helper()
	srv := testserver.StartNFS(t)
	u := "nfs://" + srv.Host + srv.Export
	if query != "" {
		u += "?" + query
	}
	s, err := filestore.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return srv, s
}
