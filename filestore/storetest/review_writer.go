package storetest

import (
	"errors"
	"io"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
)

// testWriterOutlivesStore: a Writer (small, and large enough to be
// streaming) still open when its Store is closed fails on Close with
// ErrClosed and, like any discarded Writer, leaves nothing in the
// backend: the backend stays usable for it until it is closed.
func testWriterOutlivesStore(t *testing.T, h Harness) {
	for _, size := range []int64{5, h.LargeSize} {
		s := h.NewStore(t)
		w, err := s.NewWriter(ctx, "open", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, &patternReader{n: size}); err != nil {
			t.Fatalf("%d bytes: io.Copy: %v", size, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%d bytes: Store.Close with a Writer open: %v", size, err)
		}
		if err := w.Close(); !errors.Is(err, filestore.ErrClosed) {
			t.Fatalf("%d bytes: Writer.Close after Store.Close: %v, want ErrClosed", size, err)
		}
		if _, err := s.NewWriter(ctx, "late", nil); !errors.Is(err, filestore.ErrClosed) {
			t.Fatalf("%d bytes: NewWriter after Store.Close: %v, want ErrClosed", size, err)
		}
		checkNoUnfinished(t, h, s)
	}
}
