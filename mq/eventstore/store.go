package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
	"github.com/groundwork-go/groundwork/resilience"
)

// loadPage is how many events Store.Load asks its backend for at a time.
const loadPage = 1000

// Store appends events to aggregates' streams with optimistic concurrency
// and publishes each stored event to a topic, through the outbox of its
// backend. It is safe for concurrent use.
type Store struct {
	backend Backend
	bus     *mq.Client
	opts    options
	tel     *telemetry

	mu       sync.RWMutex // guards closed against enter
	closed   bool
	inflight sync.WaitGroup // Append and Load calls running
	closing  chan struct{}  // closed when the first Close/Shutdown is done

	stopRelay context.CancelFunc
	relayDone chan struct{}
}

// New returns a Store keeping its events in backend and publishing them to
// bus. It attaches the backend to bus and starts the backend's relay in a
// goroutine that Close stops. The Store owns backend from then on (Close
// closes it); bus stays the caller's.
func New(backend Backend, bus *mq.Client, opts ...Option) (*Store, error) {
	if backend == nil || bus == nil {
		return nil, fmt.Errorf("%w: New: nil backend or bus", ErrInvalid)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := backend.Attach(context.Background(), Attachment{Bus: bus, Logger: o.logger, MeterProvider: o.meter}); err != nil {
		return nil, wrap("attach backend", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		backend: backend, bus: bus, opts: o,
		tel:     newTelemetry(o.meter, o.topic),
		closing: make(chan struct{}), stopRelay: cancel, relayDone: make(chan struct{}),
	}
	go s.relay(ctx)
	return s, nil
}

// relay runs the backend's relay until the Store closes. The relay
// retries outages itself; what it returns is the bus closed (nothing can
// be published any more: the events wait in the outbox for another
// process or a restart) or a fault, logged and restarted after a backoff.
func (s *Store) relay(ctx context.Context) {
	defer close(s.relayDone)
	bo := retrying.NewLoopBackOff(resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 5 * time.Second})
	for {
		err := s.backend.Relay(ctx)
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		if errors.Is(err, mq.ErrClosed) {
			s.opts.logger.Error("eventstore: the bus is closed; events stay in the outbox unpublished", "topic", s.opts.topic, "err", err)
			return
		}
		s.opts.logger.Warn("eventstore: relay stopped; restarting", "topic", s.opts.topic, "err", err)
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// enter registers a call, or reports the Store closed.
func (s *Store) enter() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

// Append adds events, in order, to the stream of aggregate, which must be
// at version expected: 0 for a new stream, Any to skip the check. It
// returns the stream's new version; the events get versions expected+1,
// expected+2, ... (Version as given is ignored). Events without an ID get
// a UUIDv7, without a Time the current one; Time is kept in UTC to the
// microsecond. With WithCodec, events of a registered type get the codec
// headers in their Meta.
//
// The events and the messages announcing them are stored atomically; the
// relay publishes them afterwards, so an event is published if and only if
// it was stored, even across a crash. A stream at another version stores
// nothing and returns a *ConflictError naming the actual version
// (errors.Is ErrConflict).
func (s *Store) Append(ctx context.Context, aggregate string, expected uint64, events ...Event) (uint64, error) {
	if !s.enter() {
		return 0, ErrClosed
	}
	defer s.inflight.Done()
	evs, err := s.prepare(aggregate, events)
	if err != nil {
		s.tel.appendError.add(1)
		return 0, err
	}
	v, err := s.backend.Append(ctx, aggregate, expected, evs, s.announce)
	switch {
	case err == nil:
		s.tel.appendOK.add(1)
		s.tel.events.add(len(evs))
	case errors.Is(err, ErrConflict):
		s.tel.appendConflict.add(1)
	default:
		s.tel.appendError.add(1)
	}
	return v, wrap(fmt.Sprintf("append to %q", aggregate), err)
}

// prepare checks the arguments of Append and returns the events as the
// backend stores them: copies with aggregate, ID, Time and codec headers.
func (s *Store) prepare(aggregate string, events []Event) ([]Event, error) {
	if err := checkName("Append: aggregate", aggregate); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: Append(%q): no events", ErrInvalid, aggregate)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs := make([]Event, len(events))
	ids := make([]*mq.Message, len(events))
	seen := make(map[string]bool, len(events))
	for i := range events {
		e := events[i].clone()
		if err := checkEvent(i, &e); err != nil {
			return nil, fmt.Errorf("Append(%q): %w", aggregate, err)
		}
		if e.Aggregate != "" && e.Aggregate != aggregate {
			return nil, fmt.Errorf("%w: Append(%q): event %d names aggregate %q", ErrInvalid, aggregate, i, e.Aggregate)
		}
		if e.ID != "" {
			if seen[e.ID] {
				return nil, fmt.Errorf("%w: Append(%q): ID %q given twice", ErrDuplicate, aggregate, e.ID)
			}
			seen[e.ID] = true
		}
		e.Aggregate, e.Version = aggregate, 0
		if e.Time.IsZero() {
			e.Time = now
		} else {
			e.Time = e.Time.UTC().Truncate(time.Microsecond)
		}
		// Years 1 to 9999: what RFC 3339 writes and PostgreSQL's
		// timestamptz keeps, so that both backends take the same events.
		if y := e.Time.Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("%w: Append(%q): event %d: Time %s is outside years 1 to 9999", ErrInvalid, aggregate, i, e.Time)
		}
		s.stamp(&e)
		evs[i] = e
		ids[i] = &mq.Message{ID: e.ID}
	}
	if err := mq.NewIDs(ids...); err != nil {
		return nil, fmt.Errorf("eventstore: append to %q: %w", aggregate, err)
	}
	for i := range evs {
		evs[i].ID = ids[i].ID
	}
	return evs, nil
}

// stamp writes the codec headers of a registered type into e.Meta: its
// Data is that type's current shape.
func (s *Store) stamp(e *Event) {
	if s.opts.codec == nil {
		return
	}
	v, ok := s.opts.codec.Version(e.Type)
	if !ok {
		return
	}
	if e.Meta == nil {
		e.Meta = make(map[string]string, 3)
	}
	e.Meta[codec.HeaderContentType] = s.opts.codec.Codec().ContentType()
	e.Meta[codec.HeaderSchemaVersion] = strconv.FormatUint(uint64(v), 10)
	e.Meta[codec.HeaderMessageType] = e.Type
}

// announce returns the messages announcing events: ID the event's, keyed
// by aggregate, with the event headers and Meta.
func (s *Store) announce(events []Event) ([]*mq.Message, error) {
	msgs := make([]*mq.Message, len(events))
	for i, e := range events {
		h := make(map[string]string, len(e.Meta)+3)
		for k, v := range e.Meta {
			h[k] = v
		}
		h[HeaderEventType] = e.Type
		h[HeaderAggregateID] = e.Aggregate
		h[HeaderEventVersion] = strconv.FormatUint(e.Version, 10)
		payload := e.Data
		if payload == nil {
			payload = []byte{}
		}
		msgs[i] = &mq.Message{ID: e.ID, Topic: s.opts.topic, Key: e.Aggregate, Payload: payload, Headers: h, Time: e.Time}
	}
	return msgs, nil
}

// Load returns the events of aggregate with versions above after, in
// version order (after 0: the whole stream); none for an unknown
// aggregate. With WithCodec, the Data of an event stored at an older
// schema version is upcast to the current one, and its Meta says so.
func (s *Store) Load(ctx context.Context, aggregate string, after uint64) ([]Event, error) {
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.inflight.Done()
	if err := checkName("Load: aggregate", aggregate); err != nil {
		return nil, err
	}
	var out []Event
	for {
		page, err := s.backend.Load(ctx, aggregate, after, loadPage)
		if err != nil {
			return nil, wrap(fmt.Sprintf("load %q", aggregate), err)
		}
		for i := range page {
			if err := s.upgrade(&page[i]); err != nil {
				return nil, err
			}
		}
		out = append(out, page...)
		if len(page) < loadPage {
			break
		}
		after = page[len(page)-1].Version
	}
	s.tel.loaded.add(len(out))
	return out, nil
}

// upgrade upcasts e's Data to its type's current schema version. An
// event of a registered type stored without a schema-version (appended
// before the Store had WithCodec) is at version 1, as mq/codec reads a
// message without the header, so that Load and subscribers agree.
func (s *Store) upgrade(e *Event) error {
	if s.opts.codec == nil {
		return nil
	}
	if _, ok := s.opts.codec.Version(e.Type); !ok {
		return nil // not a type of this registry: as stored
	}
	from := uint64(1)
	if sv, ok := e.Meta[codec.HeaderSchemaVersion]; ok {
		var err error
		if from, err = strconv.ParseUint(sv, 10, 32); err != nil {
			return fmt.Errorf("eventstore: load %q: event %s (version %d): schema-version %q: %w", e.Aggregate, e.ID, e.Version, sv, codec.ErrVersion)
		}
	}
	data, cur, err := s.opts.codec.Upgrade(e.Type, uint32(from), e.Data)
	if err != nil {
		return fmt.Errorf("eventstore: load %q: event %s (version %d): %w", e.Aggregate, e.ID, e.Version, err)
	}
	if uint64(cur) == from {
		return nil // current already: Data and Meta as stored
	}
	e.Data = data
	if e.Meta == nil {
		e.Meta = make(map[string]string, 1)
	}
	e.Meta[codec.HeaderSchemaVersion] = strconv.FormatUint(uint64(cur), 10)
	return nil
}

// Close stops the relay, waits for the calls in flight and closes the
// backend; messages not yet published stay in a durable backend's outbox
// (and are lost with the memory backend: use Shutdown). It closes neither
// the bus nor a pool the backend was given. Later calls return nil;
// afterwards every method returns ErrClosed.
func (s *Store) Close() error { return s.shutdown(context.Background(), false) }

// Shutdown is Close that first waits, until ctx ends, for the relay to
// publish every event stored before it; it returns ctx's error if ctx
// ended first, or an error wrapping ErrClosed if the relay stopped for
// good (the bus was closed), and closes all the same.
func (s *Store) Shutdown(ctx context.Context) error { return s.shutdown(ctx, true) }

func (s *Store) shutdown(ctx context.Context, drain bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.closing
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	defer close(s.closing)
	s.inflight.Wait()
	var err error
	if drain {
		err = s.flush(ctx)
	}
	s.stopRelay()
	<-s.relayDone
	if cerr := s.backend.Close(); err == nil {
		err = wrap("close backend", cerr)
	}
	s.tel.close()
	return err
}

// flush waits for the backend to publish what it stored, giving up when
// the relay stops for good (the bus closed): nothing would publish it.
func (s *Store) flush(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-s.relayDone:
			close(stopped)
			cancel()
		case <-ctx.Done():
		}
	}()
	err := s.backend.Flush(ctx)
	select {
	case <-stopped:
		if err != nil {
			return fmt.Errorf("eventstore: shutdown: the relay stopped (bus closed?); events left unpublished: %w", ErrClosed)
		}
	default:
	}
	return err
}
