package logship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/resilience"
)

// engineSink is an in-memory Sink for the engine's tests. Each Write is
// reported on writes (with the batch's IDs) after outcome decided it; a
// Write can be held until the test lets it go (hold) or its context ends.
type engineSink struct {
	mu      sync.Mutex
	got     []Record // every record accepted, in order
	calls   [][]string
	outcome func(call int, batch []Record) (Result, error)
	hold    chan struct{} // when non-nil, Write waits for it (or ctx) first
	writes  chan []string // receives each Write's IDs (buffered)
	closed  int
}

func newEngineSink() *engineSink {
	return &engineSink{writes: make(chan []string, 10_000)}
}

func (s *engineSink) Write(ctx context.Context, batch []Record) (Result, error) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.ID
	}
	res, err := s.record(ids, batch)
	s.writes <- ids
	return res, err
}

// record decides and keeps a Write's outcome, under s.mu (released even
// when outcome panics).
func (s *engineSink) record(ids []string, batch []Record) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := len(s.calls)
	s.calls = append(s.calls, ids)
	var res Result
	var err error
	if s.outcome != nil {
		res, err = s.outcome(call, batch)
	}
	if err == nil {
		failed := map[int]bool{}
		for _, f := range res.Failures {
			failed[f.Index] = true
		}
		for i, r := range batch {
			if !failed[i] {
				r.JSON = append([]byte(nil), r.JSON...)
				s.got = append(s.got, r)
			}
		}
	}
	return res, err
}

func (s *engineSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return nil
}

func (s *engineSink) gotIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.got))
	for i, r := range s.got {
		ids[i] = r.ID
	}
	return ids
}

// nextWrite waits (generously) for the sink's next Write.
func (s *engineSink) nextWrite(t *testing.T) []string {
	t.Helper()
	select {
	case ids := <-s.writes:
		return ids
	case <-time.After(20 * time.Second):
		t.Fatal("no Write to the sink")
		return nil
	}
}

func engineRecord(i int) Record {
	id := fmt.Sprintf("e%03d", i)
	return Record{ID: id, Service: "orders", Time: time.Unix(1700000000, int64(i)).UTC(), Level: slog.LevelInfo,
		JSON: []byte(fmt.Sprintf(`{"message":"m%d","event":{"id":%q}}`, i, id))}
}

// engineTestOptions keeps tests quick and deterministic: the interval
// never fires by itself (tick is the test's), retries do not sleep.
func engineShipper(t *testing.T, sink Sink, tick <-chan time.Time, opts ...Option) *Shipper {
	t.Helper()
	base := []Option{
		WithBatch(3, 1<<20, time.Hour),
		WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 3, NoJitter: true}),
		WithLogger(slog.New(slog.DiscardHandler)),
		func(o *options) error { o.tick = tick; return nil },
	}
	s, err := NewShipper(sink, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A test that did not shut s down may have left its sink down:
		// give up at once rather than wait on it.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// engineNoSleep makes retries wait for nothing.
func engineNoSleep(o *options) error {
	o.retryWait = func(context.Context, time.Duration) {}
	return nil
}

func engineDropped(s *Shipper, r dropReason) int64 { return s.tel.dropped[r].Load() }

// engineNoLeaks checks, after the test and its cleanups (Shutdowns
// included), that no goroutine is left.
func engineNoLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

var errEngineDown = errors.New("sink down")

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
