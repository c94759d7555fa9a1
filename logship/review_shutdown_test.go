package logship

import (
	"context"
	"strings"
	"testing"
)

// reviewPanicCloseSink is an engineSink whose Close panics.
type reviewPanicCloseSink struct{ *engineSink }

func (reviewPanicCloseSink) Close(context.Context) error { panic("close boom") }

// A Sink (or dead-letter Sink) whose Close panics costs Shutdown an
// error, not the process: the Sink is the caller's code, as in Write.
// The disk buffer is still closed (its lock released, its sync goroutine
// stopped) and the other Sink still closed. Shutdown panicked, leaving
// the buffer locked and the dead-letter sink open.
func TestReviewShutdownSinkClosePanics(t *testing.T) {
	engineNoLeaks(t)
	dir := t.TempDir()
	dlq := newEngineSink()
	s := engineShipper(t, reviewPanicCloseSink{newEngineSink()}, nil, WithBuffer(dir), WithDeadLetter(dlq))
	s.submit(context.Background(), engineRecord(0))
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Shutdown panicked: %v", p)
			}
		}()
		return s.Shutdown(context.Background())
	}()
	if err == nil || !strings.Contains(err.Error(), "close boom") {
		t.Fatalf("Shutdown: %v, want the panic as an error", err)
	}
	if dlq.closed != 1 {
		t.Fatalf("dead-letter sink closed %d times", dlq.closed)
	}
	// The buffer's lock is free: a new Shipper opens it.
	s2, err := NewShipper(newEngineSink(), WithBuffer(dir), WithLogger(discardLogger()))
	if err != nil {
		t.Fatalf("buffer left locked: %v", err)
	}
	if err := s2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
