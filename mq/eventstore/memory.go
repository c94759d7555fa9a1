package eventstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// memRetry spaces a memory relay's attempts while the bus is unreachable.
var memRetry = resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second}

// memory is the in-process backend: streams in maps under a mutex, and a
// pending queue, in append order, that its relay publishes.
type memory struct {
	mu      sync.Mutex
	bus     *mq.Client
	logger  *slog.Logger
	closed  bool
	streams map[string][]Event
	ids     map[string]bool
	pending []*mq.Message // stored, not yet published: in append order
	stored  uint64        // messages ever stored
	done    uint64        // messages sent or refused for good
	change  chan struct{} // closed and replaced on every change
	stop    chan struct{} // closed by Close
}

// NewMemoryBackend returns a Backend that keeps everything in memory, for
// tests, examples and single-process tools. Its relay publishes in append
// order, so per aggregate in version order, each message under its
// event's ID; messages not yet published when the process ends are lost,
// with the events (Store.Shutdown publishes them first).
func NewMemoryBackend() Backend {
	return &memory{
		streams: map[string][]Event{}, ids: map[string]bool{},
		change: make(chan struct{}), stop: make(chan struct{}),
	}
}

var _ Backend = (*memory)(nil)

func (m *memory) Attach(_ context.Context, a Attachment) error {
	if a.Bus == nil || a.Logger == nil {
		return fmt.Errorf("%w: Attach: nil bus or logger", ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bus != nil {
		return fmt.Errorf("%w: Attach: the backend is already attached to a bus", ErrInvalid)
	}
	m.bus, m.logger = a.Bus, a.Logger
	return nil
}

// changed wakes the relay and Flush; m.mu is held.
func (m *memory) changed() {
	close(m.change)
	m.change = make(chan struct{})
}

func (m *memory) Append(ctx context.Context, aggregate string, expected uint64, events []Event, announce Announce) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	if m.bus == nil {
		return 0, fmt.Errorf("%w: Append before Attach", ErrInvalid)
	}
	stream := m.streams[aggregate]
	cur := uint64(len(stream))
	if expected != Any && expected != cur {
		return 0, &ConflictError{Aggregate: aggregate, Expected: expected, Actual: cur}
	}
	evs := make([]Event, len(events))
	seen := make(map[string]bool, len(events))
	for i, e := range events {
		if m.ids[e.ID] || seen[e.ID] {
			return 0, fmt.Errorf("%w: event %d: ID %q", ErrDuplicate, i, e.ID)
		}
		seen[e.ID] = true
		e = e.clone()
		e.Version = cur + uint64(i) + 1
		evs[i] = e
	}
	msgs, err := announce(evs)
	if err != nil {
		return 0, err
	}
	// The trace context of the appending request travels with each
	// message, as in the PostgreSQL backend's outbox; and what the bus
	// would refuse is refused now, with nothing stored. The check comes
	// after the trace headers: they count towards the size limit, and a
	// message they push over it would be dropped by the relay after its
	// event was stored.
	for i, msg := range msgs {
		if msg == nil {
			continue // Check names it
		}
		c := *msg
		c.Headers = m.bus.TraceHeaders(ctx, msg.Headers)
		msgs[i] = &c
	}
	if err := m.bus.Check(msgs...); err != nil {
		return 0, err
	}
	for _, e := range evs {
		m.ids[e.ID] = true
	}
	m.streams[aggregate] = append(stream, evs...)
	m.pending = append(m.pending, msgs...)
	m.stored += uint64(len(msgs))
	m.changed()
	return cur + uint64(len(evs)), nil
}

func (m *memory) Load(_ context.Context, aggregate string, after uint64, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	stream := m.streams[aggregate]
	if after >= uint64(len(stream)) {
		return nil, nil
	}
	stream = stream[after:]
	if limit > 0 && len(stream) > limit {
		stream = stream[:limit]
	}
	out := make([]Event, len(stream))
	for i, e := range stream {
		out[i] = e.clone()
	}
	return out, nil
}

// Relay publishes the pending queue one message at a time, in order; the
// head stays until the bus took it, so an outage delays but never reorders
// or drops. A message the bus refuses for good (which Append's check makes
// rare: a per-topic limit of the broker) is logged and dropped, so the
// queue goes on.
func (m *memory) Relay(ctx context.Context) error {
	bo := retrying.NewLoopBackOff(memRetry)
	for {
		m.mu.Lock()
		closed, bus, change := m.closed, m.bus, m.change
		var head *mq.Message
		if len(m.pending) > 0 {
			c := *m.pending[0] // Publish must not touch the stored one
			head = &c
		}
		m.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if head == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-m.stop:
				return ErrClosed
			case <-change:
				continue
			}
		}
		err := bus.Publish(ctx, head)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, mq.ErrClosed):
			return fmt.Errorf("eventstore: relay: %w", err)
		case err != nil && bus.IsRetryable(err):
			t := time.NewTimer(bo.NextBackOff())
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-m.stop:
				t.Stop()
				return ErrClosed
			case <-t.C:
			}
			continue
		}
		bo.Reset()
		m.mu.Lock()
		m.pending[0] = nil // let the sent message go
		m.pending = m.pending[1:]
		m.done++
		m.changed()
		m.mu.Unlock()
		if err != nil {
			// Refused for good: out of the queue, not retried for ever,
			// so that the events after it go.
			m.logger.Error("eventstore: the bus refused an event for good; dropped", "id", head.ID, "aggregate", head.Key, "err", err)
		}
	}
}

func (m *memory) Flush(ctx context.Context) error {
	m.mu.Lock()
	target := m.stored
	m.mu.Unlock()
	for {
		m.mu.Lock()
		done, change, closed := m.done, m.change, m.closed
		m.mu.Unlock()
		if done >= target {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-change:
		}
	}
}

func (m *memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.stop)
		m.changed()
	}
	return nil
}
