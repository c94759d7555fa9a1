package s3store_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// cutAfter is a transport that, once, after a request of the kind it
// watches has taken effect on the gateway, runs cancel (the Writer's
// ctx ending at that moment) and, if the request's own ctx has ended by
// then, loses the answer as a cut connection does.
type cutAfter struct {
	kind   func(*http.Request) bool
	cancel context.CancelFunc
	done   atomic.Bool
	fired  chan struct{} // closed once it has cut
}

// Read, between the parts of a Writer's source, waits until c has cut:
// the rest of the source is written after the ctx ended.
func (c *cutAfter) Read([]byte) (int, error) {
	<-c.fired
	return 0, io.EOF
}

func (c *cutAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && c.kind(req) && resp.StatusCode < 300 && c.done.CompareAndSwap(false, true) {
		c.cancel()
		defer close(c.fired)
		if cerr := req.Context().Err(); cerr != nil {
			resp.Body.Close()
			return nil, cerr
		}
	}
	return resp, err
}

// TestReviewWriterCtxEndsAtEachStep: the Writer's ctx ends just after a
// request of its upload took effect on the gateway — the single
// PutObject of a small object; an UploadPart, or the
// CompleteMultipartUpload, of a large one. Whatever Close then says is
// true: nil only if the object is there, an error only if it is not; and
// no multipart upload is left behind. A small object's PutObject used to
// run under the caller's ctx, so that Close said context.Canceled of an
// object the gateway had stored.
func TestReviewWriterCtxEndsAtEachStep(t *testing.T) {
	gw := gateway(t)
	q := func(r *http.Request, k string) bool { return r.URL.Query().Has(k) }
	for _, c := range []struct {
		name string
		size int64
		wait bool // the source waits half-way for the cut
		kind func(*http.Request) bool
	}{
		{"PutObject", 1000, false, func(r *http.Request) bool {
			return r.Method == http.MethodPut && !q(r, "partNumber") && !q(r, "tagging")
		}},
		{"UploadPart", 20 << 20, true, func(r *http.Request) bool { return r.Method == http.MethodPut && q(r, "partNumber") }},
		{"CompleteMultipartUpload", 12 << 20, false, func(r *http.Request) bool { return r.Method == http.MethodPost && q(r, "uploadId") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tr := &cutAfter{kind: c.kind, cancel: cancel, fired: make(chan struct{})}
			prefix := "cut-" + c.name + "/"
			s := storeVia(t, gw, tr, prefix)
			w, err := s.NewWriter(ctx, "obj", nil)
			if err != nil {
				t.Fatal(err)
			}
			src := io.Reader(testserver.Zeros(c.size))
			if c.wait {
				src = io.MultiReader(testserver.Zeros(c.size/2), tr, testserver.Zeros(c.size/2))
			}
			_, _ = io.Copy(w, src) // fails once the ctx ends
			closeErr := w.Close()
			if !tr.done.Load() {
				t.Fatalf("no %s request was made", c.name)
			}
			_, statErr := s.Stat(context.Background(), "obj")
			switch {
			case closeErr == nil && statErr != nil:
				t.Fatalf("Close succeeded, but the object is not there: %v", statErr)
			case closeErr != nil && statErr == nil:
				t.Fatalf("Close failed (%v), but the object is there", closeErr)
			case closeErr != nil && !errors.Is(statErr, fs.ErrNotExist):
				t.Fatalf("Stat: %v", statErr)
			}
			var client *s3.Client
			if !s.As(&client) {
				t.Fatal("As(*s3.Client) failed")
			}
			ups, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
			if err != nil {
				t.Fatal(err)
			}
			if len(ups.Uploads) != 0 {
				t.Fatalf("%d multipart uploads left behind", len(ups.Uploads))
			}
			t.Logf("Close: %v", closeErr)
		})
	}
}

// storeVia opens a store on the gateway whose requests go through rt.
func storeVia(t *testing.T, gw *testserver.S3, rt http.RoundTripper, prefix string) *filestore.Store {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle, o.BaseEndpoint = true, aws.String(gw.Endpoint)
		o.HTTPClient = &http.Client{Transport: rt}
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	b, err := s3store.New(client, bucket, &s3store.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	s, err := filestore.NewStore(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ctxMeta is the memory metadata store failing a call whose ctx has
// ended, as one over a network (pgmeta) does.
type ctxMeta struct{ filestore.MetadataStore }

func (m ctxMeta) PutUpload(ctx context.Context, u *filestore.UploadRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.MetadataStore.PutUpload(ctx, u)
}

// TestReviewStartUploadCancelledAsUploadCreated: a resumable upload's
// ctx ends just as the gateway creates its multipart upload, before the
// answer arrives. StartUpload either returns the upload (whose ID can
// abort it) or leaves none on the gateway: were the request cut off with
// the ctx, the upload's ID would be lost and the upload kept for good
// (Cleanup lists objects and records, not multipart uploads).
func TestReviewStartUploadCancelledAsUploadCreated(t *testing.T) {
	gw := gateway(t)
	tr := &transport{}
	s := storeVia(t, gw, tr, "start/")
	svc, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "s3", Store: s}},
		Metadata: ctxMeta{filestore.NewMemoryMetadata()}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := func() { cancel() }
	tr.afterCreate.Store(&hook)
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "resumable"})
	tr.afterCreate.Store(nil)
	if err == nil {
		if err := up.Abort(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var client *s3.Client
	if !s.As(&client) {
		t.Fatal("As(*s3.Client) failed")
	}
	ups, lerr := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("start/")})
	if lerr != nil {
		t.Fatal(lerr)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("StartUpload returned %v and left %d multipart uploads nobody knows", err, len(ups.Uploads))
	}
}
