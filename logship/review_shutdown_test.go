package logship

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

// A second Shutdown whose context ends gives up for both: the first, with
// no deadline, is waiting on a disk-buffered sink that stays down. The
// second waited on the first's lock, past its own context, for ever.
func TestReviewConcurrentShutdownWithDeadline(t *testing.T) {
	engineNoLeaks(t)
	var up atomic.Bool
	sink := newEngineSink()
	sink.outcome = func(int, []Record) (Result, error) {
		if up.Load() {
			return Result{}, nil
		}
		return Result{}, errEngineDown
	}
	gate := make(chan struct{})
	s := engineShipper(t, sink, nil, WithBuffer(t.TempDir()), engineRetryGate(gate))
	s.submit(context.Background(), engineRecord(0))
	first := make(chan error, 1)
	go func() { first <- s.Shutdown(context.Background()) }()
	sink.nextWrite(t) // the flush failed; the goroutine waits to retry
	waitFor(t, s.closed.Load)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	second := make(chan error, 1)
	go func() { second <- s.Shutdown(ctx) }()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("second Shutdown: %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		up.Store(true) // let the first finish, so that the test ends
		close(gate)
		<-second
		t.Fatal("second Shutdown did not give up when its context ended")
	}
	// The first is told that the flush did not finish.
	if err := <-first; err == nil || !strings.Contains(err.Error(), "stay in the disk buffer") {
		t.Fatalf("first Shutdown: %v", err)
	}
	if sink.closed != 1 {
		t.Fatalf("sink closed %d times", sink.closed)
	}
}
