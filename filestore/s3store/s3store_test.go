package s3store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/filestore/storetest"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

const bucket = "groundwork"

// gateway starts versitygw and points the SDK's default credential chain
// at its keys (environment variables, as a deployment would).
func gateway(t *testing.T) *testserver.S3 {
	gw := testserver.StartS3(t, bucket)
	gw.UseCredentials(t)
	return gw
}

var tests atomic.Int32

func TestConformance(t *testing.T) {
	gw := gateway(t)
	storetest.RunConformanceTests(t, storetest.Harness{
		NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
			// Each test its own prefix of one bucket: the prefix option is
			// exercised by every test.
			s, err := filestore.Open(context.Background(), gw.URL(bucket, fmt.Sprintf("t%d/", tests.Add(1))), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		FileAndDirSameName: false, // versitygw's posix backend: as on local disk
		ListWithoutDigests: true,
		LargeSize:          12 << 20, // multipart: over the 5 MiB threshold, parts of 5 MiB
	})
}
