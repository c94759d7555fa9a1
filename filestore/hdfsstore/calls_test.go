package hdfsstore_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"testing"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// nnMethods are the ClientProtocol methods the double answers.
var nnMethods = []string{"getFileInfo", "mkdirs", "getListing", "rename2", "delete", "setPermission", "setOwner",
	"setTimes", "getServerDefaults", "create", "addBlock", "updateBlockForPipeline", "complete", "abandonBlock",
	"getBlockLocations", "renewLease", "setXAttr", "getXAttrs", "listXAttrs", "removeXAttr"}

// nnCalls counts the namenode calls fn makes, by method.
func nnCalls(srv *testserver.HDFS, fn func()) map[string]int {
	before := map[string]int{}
	for _, m := range nnMethods {
		before[m] = srv.Calls(m)
	}
	fn()
	out := map[string]int{}
	for _, m := range nnMethods {
		if n := srv.Calls(m) - before[m]; n > 0 {
			out[m] = n
		}
	}
	return out
}

// TestNamenodeCalls: a Put over an existing object and a Get cost the
// namenode calls listed here, and no more (each one is a network round
// trip on a real cluster; see BENCHMARKS.md).
func TestNamenodeCalls(t *testing.T) {
	srv, ss := server(t)
	s := ss.open(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 4096)
	put := func() {
		if _, err := s.Put(ctx, "a/obj", bytes.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
	}
	put() // the first Put makes the directories
	gotPut := nnCalls(srv, put)
	gotGet := nnCalls(srv, func() {
		r, err := s.Open(ctx, "a/obj")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	})
	wantPut := map[string]int{"create": 1, "addBlock": 1, "complete": 1, "updateBlockForPipeline": 1, "getFileInfo": 1, "setXAttr": 1, "rename2": 1}
	wantGet := map[string]int{"getFileInfo": 2, "getXAttrs": 1, "getBlockLocations": 1}
	if !maps.Equal(gotPut, wantPut) {
		t.Errorf("Put: namenode calls %v, want %v", gotPut, wantPut)
	}
	if !maps.Equal(gotGet, wantGet) {
		t.Errorf("Get: namenode calls %v, want %v", gotGet, wantGet)
	}
}
