package s3store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	var prefixes sync.Map // *filestore.Store -> its prefix
	storetest.RunConformanceTests(t, storetest.Harness{
		NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
			// Each test its own prefix of one bucket: the prefix option is
			// exercised by every test.
			prefix := fmt.Sprintf("t%d/", tests.Add(1))
			s, err := filestore.Open(context.Background(), gw.URL(bucket, prefix), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			prefixes.Store(s, prefix)
			return s
		},
		// What Writers and Puts under way hold: multipart uploads.
		Unfinished: func(t *testing.T, s *filestore.Store) []string {
			prefix, _ := prefixes.Load(s)
			var c *s3.Client
			if !s.As(&c) {
				t.Fatal("As(*s3.Client) failed")
			}
			out, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix.(string))})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, u := range out.Uploads {
				keys = append(keys, aws.ToString(u.Key))
			}
			return keys
		},
		FileAndDirSameName: false, // versitygw's posix backend: as on local disk
		ListWithoutDigests: true,
		LargeSize:          12 << 20, // multipart: over the 5 MiB threshold, parts of 5 MiB
	})
}
