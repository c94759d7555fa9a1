package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestGatewayPausedMidUpload: the gateway stops answering in the middle
// of a multipart Put; the Put fails when its ctx ends, nothing becomes
// visible, and the multipart upload is aborted (no parts left behind).
func TestGatewayPausedMidUpload(t *testing.T) {
	gw := gateway(t)
	s, err := filestore.Open(context.Background(), gw.URL(bucket, "faults/"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	src := &signallingReader{r: testserver.Zeros(64 << 20), at: 20 << 20, reached: make(chan struct{})}
	var resumed sync.WaitGroup
	resumed.Add(1)
	go func() {
		defer resumed.Done()
		<-src.reached // well into the multipart upload
		gw.Pause()
		<-ctx.Done() // the Put gives up; let its abort through
		gw.Resume()
	}()
	_, err = s.Put(ctx, "big", src, nil)
	resumed.Wait()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put against a paused gateway: %v, want context.DeadlineExceeded", err)
	}
	if _, err := s.Stat(context.Background(), "big"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the failed Put: %v, want ErrNotExist", err)
	}
	var client *s3.Client
	if !s.As(&client) {
		t.Fatal("As(*s3.Client) failed")
	}
	ups, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left behind: %+v", len(ups.Uploads), ups.Uploads[0])
	}
	// And the store works again.
	if _, err := s.Put(context.Background(), "after", bytes.NewReader([]byte("ok")), nil); err != nil {
		t.Fatal(err)
	}
}

// TestPutMemoryBounded: a 1 GiB multipart Put grows RSS by well under
// 64 MiB.
func TestPutMemoryBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("RSS under -race measures the race detector; scripts/test runs this test without -race")
	}
	if testserver.Isolated(t) {
		return
	}
	gw := gateway(t)
	s, err := filestore.Open(context.Background(), gw.URL(bucket, "mem/"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const size = 1 << 30
	var info *filestore.Info
	growth := testserver.PeakRSSGrowth(t, func() { info, err = s.Put(context.Background(), "gib", testserver.Zeros(size), nil) })
	if err != nil || info.Size != size {
		t.Fatalf("Put: %+v %v", info, err)
	}
	if growth >= 64<<20 {
		t.Fatalf("RSS grew by %d MiB during a 1 GiB Put, want well under 64 MiB", growth>>20)
	}
	if st, err := s.Stat(context.Background(), "gib"); err != nil || st.Size != size || !bytes.Equal(st.SHA256, info.SHA256) {
		t.Fatalf("Stat: %+v %v", st, err)
	}
}

// signallingReader closes reached once at bytes have been read.
type signallingReader struct {
	r       io.Reader
	n, at   int64
	reached chan struct{}
	once    sync.Once
}

func (s *signallingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.n >= s.at {
		s.once.Do(func() { close(s.reached) })
	}
	return n, err
}

// TestWriterCancelledAsUploadCreated: the Writer's ctx ends just as the
// gateway creates its multipart upload, before the answer arrives. The
// upload must still be aborted: were the request cancelled with the ctx,
// its answer (the upload's ID) would be lost and the upload left on the
// server for good.
func TestWriterCancelledAsUploadCreated(t *testing.T) {
	gw := gateway(t)
	tr := &transport{}
	s := storeVia(t, gw, tr, "cancelled/")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := func() { cancel() }
	tr.afterCreate.Store(&hook)
	w, err := s.NewWriter(ctx, "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(w, testserver.Zeros(12<<20)) // past the multipart threshold; fails once the ctx ends
	if err := w.Close(); err != context.Canceled {
		t.Fatalf("Close: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(context.Background(), "big"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the cancelled Writer: %v, want ErrNotExist", err)
	}
	var client *s3.Client
	if !s.As(&client) {
		t.Fatal("As(*s3.Client) failed")
	}
	ups, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("cancelled/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left behind: %+v", len(ups.Uploads), ups.Uploads[0])
	}
}
