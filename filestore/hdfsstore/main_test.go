package hdfsstore_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/colinmarc/hdfs/v2"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/hdfsstore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestMain checks that no goroutine outlives the tests, but one the
// colinmarc client leaks itself: after a block write fails (a datanode
// lost mid-write, the fault tests), its ack reader drains a channel that
// is closed only on success (blockWriteStream.ackPackets). hdfsstore
// cannot end it: the stream is internal to the client.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/colinmarc/hdfs/v2/internal/transfer.(*blockWriteStream).ackPackets"))
}

var bases atomic.Int64

// stores opens stores on one namenode, each on a base directory of its
// own, and remembers each store's base for the Unfinished check.
type stores struct {
	namenode string // host:port[,host:port]
	user     string
	query    string
	mu       sync.Mutex
	base     map[*filestore.Store]string
}

func newStores(namenode, user, query string) *stores {
	q := "user=" + url.QueryEscape(user)
	if query != "" {
		q += "&" + query
	}
	return &stores{namenode: namenode, user: user, query: q, base: map[*filestore.Store]string{}}
}

// open opens a store on a fresh base; it is closed when t ends.
func (ss *stores) open(t *testing.T, opts ...filestore.Option) *filestore.Store {
	t.Helper()
	base := fmt.Sprintf("/groundwork-test/%d-%s", bases.Add(1), url.PathEscape(strings.ReplaceAll(t.Name(), "/", "-")))
	u := "hdfs://" + ss.namenode + base
	if ss.query != "" {
		u += "?" + ss.query
	}
	s, err := filestore.Open(context.Background(), u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ss.mu.Lock()
	ss.base[s] = base
	ss.mu.Unlock()
	return s
}

// unfinished lists the temporary files under the store's base, through a
// client of its own (the store may be closed).
func (ss *stores) unfinished(t *testing.T, s *filestore.Store) []string {
	t.Helper()
	ss.mu.Lock()
	base := ss.base[s]
	ss.mu.Unlock()
	c := client(t, ss.namenode, ss.user)
	infos, err := c.ReadDir(base + "/.filestore/tmp")
	if err != nil && !strings.Contains(err.Error(), "file does not exist") {
		t.Fatalf("listing %s/.filestore/tmp: %v", base, err)
	}
	var out []string
	for _, fi := range infos {
		out = append(out, fi.Name())
	}
	return out
}

// client is a client of the test's own, closed when t ends.
func client(t *testing.T, namenode, user string) *hdfs.Client {
	t.Helper()
	c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: strings.Split(namenode, ","), User: user,
		NamenodeDialFunc: hdfsstore.Dialer(testTimeout), DatanodeDialFunc: hdfsstore.Dialer(testTimeout)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// server starts the HDFS double, with stores opened as user groundwork.
func server(t *testing.T, opts ...testserver.HDFSOption) (*testserver.HDFS, *stores) {
	t.Helper()
	srv := testserver.StartHDFS(t, opts...)
	return srv, newStores(srv.NameNode(), "groundwork", "")
}
