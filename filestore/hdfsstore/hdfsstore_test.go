package hdfsstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore/storetest"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// testTimeout bounds stalled connections in the tests: long enough never
// to cut a healthy call on a loaded machine.
const testTimeout = 2 * time.Minute

// TestConformance runs the suite against the NameNode + DataNode double,
// through the real client, with 1 MiB blocks so that objects span blocks.
func TestConformance(t *testing.T) {
	_, ss := server(t)
	storetest.RunConformanceTests(t, storetest.Harness{
		NewStore:   ss.open,
		LargeSize:  6<<20 + 12345, // six blocks and a part
		Unfinished: ss.unfinished,
	})
}

// TestConformanceRealCluster runs the suite against the cluster whose
// namenode(s) GROUNDWORK_HDFS_NAMENODE names (host:port[,host:port]), as
// GROUNDWORK_HDFS_USER (default groundwork), under /groundwork-test, with
// the URL parameters in GROUNDWORK_HDFS_QUERY if set (e.g.
// datanode_hostname=true for deploy/compose.yaml's cluster in Docker).
func TestConformanceRealCluster(t *testing.T) {
	nn := os.Getenv("GROUNDWORK_HDFS_NAMENODE")
	if nn == "" {
		t.Skip("GROUNDWORK_HDFS_NAMENODE is unset: no real HDFS cluster to run the suite against (deploy/compose.yaml starts one)")
	}
	user := os.Getenv("GROUNDWORK_HDFS_USER")
	if user == "" {
		user = "groundwork"
	}
	ss := newStores(nn, user, os.Getenv("GROUNDWORK_HDFS_QUERY"))
	storetest.RunConformanceTests(t, storetest.Harness{NewStore: ss.open, Unfinished: ss.unfinished})
}

// TestNoXAttrs: on a namenode with extended attributes off, a Put fails
// naming the attribute it needs, and leaves nothing.
func TestNoXAttrs(t *testing.T) {
	srv, ss := server(t, testserver.HDFSXAttrs(false))
	s := ss.open(t)
	_, err := s.Put(context.Background(), "k", strings.NewReader("data"), nil)
	if err == nil || !strings.Contains(err.Error(), "user.groundwork.filestore") {
		t.Fatalf("Put without xattrs: %v, want an error naming the attribute", err)
	}
	if _, err := s.Stat(context.Background(), "k"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after the failed Put: %v", err)
	}
	if left := tmpFiles(srv.Files()); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}
