package filestore_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/resilience"
)

// brokenBody is an upload's body whose client goes away half-way.
type brokenBody struct{ r io.Reader }

func (b *brokenBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// TestReviewBrokenSourceIsNotTheBackends: uploads whose readers fail
// (clients gone mid-upload) fail with the reader's error, but are not
// failures of the backend: they neither open its breaker, so that the
// next client's upload is refused with ErrBackendDown, nor move the
// upload to another backend.
func TestReviewBrokenSourceIsNotTheBackends(t *testing.T) {
	first, second := localStore(t), localStore(t)
	svc := newService(t, filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "first", Store: first}, {Name: "second", Store: second}},
		// Each failed upload also deletes what it may have left (answered:
		// a success), so a ratio, not a run of failures, trips it.
		Breaker: resilience.BreakerPolicy{FailureRatio: 0.5, MinRequests: 4, OpenTimeout: time.Hour},
	})
	for i := range 3 {
		_, err := svc.Upload(ctx, &brokenBody{strings.NewReader("half of it")}, filestore.UploadOptions{Name: "broken"})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("upload %d from a broken reader: %v, want io.ErrUnexpectedEOF", i, err)
		}
		if strings.Contains(err.Error(), `"second"`) {
			t.Fatalf("upload %d from a broken reader went on to the next backend: %v", i, err)
		}
	}
	rec, err := svc.Upload(ctx, strings.NewReader("whole"), filestore.UploadOptions{Name: "good"})
	if err != nil {
		t.Fatalf("upload after clients went away: %v", err)
	}
	if rec.Backend != "first" {
		t.Fatalf("upload after clients went away went to %q, want first", rec.Backend)
	}
}
