package hdfsstore_test

import (
	"context"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestPutMemoryBounded: a 1 GiB Put grows the process's RSS by well under
// 64 MiB. The double runs in this process, so it keeps its blocks in files
// (HDFSBlockDir) and RSS measures the store and the client; 128 MiB
// blocks, Hadoop's default. Not under -race (scripts/test runs it
// without).
func TestPutMemoryBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("RSS under -race measures the race detector; scripts/test runs this test without -race")
	}
	_, ss := server(t, testserver.HDFSBlockDir(t.TempDir()), testserver.HDFSBlockSize(128<<20))
	s := ss.open(t)
	ctx := context.Background()
	const size = 1 << 30
	var info *filestore.Info
	var err error
	growth := testserver.PeakRSSGrowth(t, func() { info, err = s.Put(ctx, "gib", testserver.Zeros(size), nil) })
	if err != nil || info.Size != size {
		t.Fatalf("Put: %+v %v", info, err)
	}
	if growth >= 64<<20 {
		t.Fatalf("RSS grew by %d MiB during a 1 GiB Put, want well under 64 MiB", growth>>20)
	}
}
