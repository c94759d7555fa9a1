package logship

import (
	"context"
	"fmt"
	"sync"
)

// Shipper takes records from its Handlers and Writers and delivers them to
// a Sink in batches. It is safe for concurrent use.
//
// SKELETON (issue 18): the engine (queue, batching, disk buffer, retries,
// dead letters, telemetry) replaces this synchronous stand-in, keeping the
// submit contract below, which the Handler and the Writer are built on.
type Shipper struct {
	sink Sink

	front frontState // the Handlers' and Writers' shared state (front.go)

	mu     sync.Mutex
	closed bool
}

// Option configures a Shipper, overriding a default.
type Option func(*options) error

type options struct{}

// NewShipper returns a Shipper delivering to sink.
func NewShipper(sink Sink, opts ...Option) (*Shipper, error) {
	if sink == nil {
		return nil, fmt.Errorf("%w: nil sink", ErrInvalid)
	}
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Shipper{sink: sink}, nil
}

// submit hands one encoded record to the pipeline. r.JSON (and r.ID, when
// it is a view of the same buffer) is borrowed: valid only until submit
// returns, so the pipeline copies what it keeps — that copy is the one
// allocation a record may cost in steady state. submit never blocks on I/O
// longer than the queue policy allows and never fails the caller: a record
// it cannot take is counted (and reported to the error handler), not
// returned as an error, because slog's Handle has no one to return it to.
func (s *Shipper) submit(ctx context.Context, r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	r.JSON = append([]byte(nil), r.JSON...)
	r.ID = string([]byte(r.ID))
	_, _ = s.sink.Write(ctx, []Record{r})
}

// Shutdown flushes what is queued, closes the sink and stops the Shipper.
// It is idempotent; afterwards records are dropped.
func (s *Shipper) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.sink.Close(ctx)
}
