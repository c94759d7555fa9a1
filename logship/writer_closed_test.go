package logship

import (
	"context"
	"errors"
	"io"
	"log"
	"testing"
)

// TestWriterAfterShutdown: once the Shipper is shut down, Write takes
// nothing and returns ErrClosed — a log.Logger's Output sees it — and
// Close of a Writer holding a partial line says the line was not
// shipped; before Shutdown the same calls succeed.
func TestWriterAfterShutdown(t *testing.T) {
	s, sink := frontShipper(t)
	w := s.Writer("legacy")
	lg := log.New(w, "", 0)
	if err := lg.Output(1, "before"); err != nil {
		t.Fatalf("Output before Shutdown: %v", err)
	}
	if _, err := io.WriteString(w, "partial"); err != nil {
		t.Fatalf("partial line before Shutdown: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("after\n")); n != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Shutdown = %d, %v; want 0, ErrClosed", n, err)
	}
	if err := lg.Output(1, "after"); !errors.Is(err, ErrClosed) {
		t.Errorf("log.Logger.Output after Shutdown = %v, want ErrClosed", err)
	}
	if err := w.(io.Closer).Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close with a partial line after Shutdown = %v, want ErrClosed", err)
	}
	if err := w.(io.Closer).Close(); err != nil {
		t.Errorf("second Close = %v, want nil (nothing pending)", err)
	}
	if got := sink.all(); len(got) != 1 || frontDoc(t, got[0])["message"] != "before" {
		t.Errorf("delivered %d records, want only the one written before Shutdown", len(got))
	}
}
