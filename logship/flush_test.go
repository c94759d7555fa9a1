package logship

import (
	"context"
	"errors"
	"testing"
	"time"
)

// gateSink reports each Write's IDs on started, then waits for the test
// to send it the outcome (a nil error accepts the batch).
type gateSink struct {
	started chan []string
	outcome chan error
}

func newGateSink() *gateSink {
	return &gateSink{started: make(chan []string, 100), outcome: make(chan error)}
}

func (g *gateSink) Write(ctx context.Context, batch []Record) (Result, error) {
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.ID
	}
	g.started <- ids
	select {
	case err := <-g.outcome:
		return Result{}, err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (g *gateSink) Close(context.Context) error { return nil }

func (g *gateSink) nextWrite(t *testing.T) []string {
	t.Helper()
	select {
	case ids := <-g.started:
		return ids
	case <-time.After(20 * time.Second):
		t.Fatal("no Write to the sink")
		return nil
	}
}

func flushAsync(s *Shipper, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Flush(ctx) }()
	return done
}

func flushResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Flush did not return")
		return nil
	}
}

func flushNotDone(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("Flush returned (%v) while its records were not settled", err)
	default:
	}
}

// TestFlush: Flush makes the goroutine write a batch that is neither full
// nor due (the interval is an hour), waits through a failed Write and its
// retry, returns once the records are delivered, and does not wait for a
// record submitted after it began.
func TestFlush(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		name := "memory"
		if buffered {
			name = "buffer"
		}
		t.Run(name, func(t *testing.T) {
			engineNoLeaks(t)
			g := newGateSink()
			opts := []Option{engineNoSleep}
			if buffered {
				opts = append(opts, WithBuffer(t.TempDir()))
			}
			s := engineShipper(t, g, nil, opts...)
			s.submit(context.Background(), engineRecord(0))
			s.submit(context.Background(), engineRecord(1))
			done := flushAsync(s, context.Background())
			if ids := g.nextWrite(t); len(ids) != 2 {
				t.Fatalf("first Write %v, want the 2 records", ids)
			}
			flushNotDone(t, done)
			s.submit(context.Background(), engineRecord(2)) // after Flush began
			g.outcome <- errEngineDown                      // retried
			if ids := g.nextWrite(t); len(ids) != 2 || ids[0] != "e000" {
				t.Fatalf("retry %v, want e000 e001", ids)
			}
			flushNotDone(t, done)
			g.outcome <- nil
			if err := flushResult(t, done); err != nil {
				t.Fatalf("Flush = %v", err)
			}
			if buffered {
				if n := s.buf.w.Len(); n > 1 {
					t.Fatalf("%d records unacknowledged after Flush, want at most e002", n)
				}
			}
			// e002 is left to the batch rules; Shutdown writes it.
			go func() {
				for range g.started {
					g.outcome <- nil
				}
			}()
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			close(g.started)
			if err := s.Flush(context.Background()); !errors.Is(err, ErrClosed) {
				t.Fatalf("Flush after Shutdown = %v, want ErrClosed", err)
			}
		})
	}
}

// TestFlushContext: a Flush whose records cannot be written returns its
// context's error when it ends; with nothing submitted it returns at once.
func TestFlushContext(t *testing.T) {
	engineNoLeaks(t)
	g := newGateSink()
	s := engineShipper(t, g, nil)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush of nothing = %v", err)
	}
	s.submit(context.Background(), engineRecord(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := flushAsync(s, ctx)
	g.nextWrite(t)
	cancel()
	if err := flushResult(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush = %v, want context.Canceled", err)
	}
	g.outcome <- nil
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush after the Write went through = %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
