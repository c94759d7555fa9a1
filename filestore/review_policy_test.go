package filestore_test

import (
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
)

// TestReviewEmptyOtherwiseMeansEveryBackend: Policy.Otherwise given as an
// empty, non-nil list means every backend, as the doc says of an empty
// one: an upload no rule matches goes to the backends in the order
// listed. It used to find no candidate and fail with an error whose
// message panicked (a wrapped nil).
func TestReviewEmptyOtherwiseMeansEveryBackend(t *testing.T) {
	p := filestore.Policy{Rules: []filestore.Rule{{MinSize: 1000, Backends: []string{"b"}}}, Otherwise: []string{}}
	if got := p.Choose(filestore.UploadOptions{Size: 1}); got != nil {
		t.Fatalf("Choose with an empty Otherwise: %q, want nil (every backend)", got)
	}
	svc := newService(t, filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "a", Store: localStore(t)}, {Name: "b", Store: localStore(t)}},
		Policy:   p,
	})
	rec, err := svc.Upload(ctx, strings.NewReader("small"), filestore.UploadOptions{Name: "n", Size: 5})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if rec.Backend != "a" {
		t.Fatalf("Upload went to %q, want the first backend listed, a", rec.Backend)
	}
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "r", Size: 5})
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	if err := up.Abort(ctx); err != nil {
		t.Fatal(err)
	}
}
