// Package eventstore keeps event-sourced aggregates: each aggregate is a
// stream of events appended with optimistic concurrency (an expected
// version), read back in order, and published to an mq topic through an
// outbox stored with the events, so that a crash between storing and
// publishing never loses an event.
//
//	backend, _ := eventstore.NewPostgresBackend(ctx, pool) // or NewMemoryBackend()
//	store, _ := eventstore.New(backend, bus)             // starts the relay
//	defer store.Shutdown(ctx)
//	v, err := store.Append(ctx, "order-42", 0, eventstore.Event{Type: "order-placed", Data: body})
//	var ce *eventstore.ConflictError
//	if errors.As(err, &ce) { ... reload from ce.Actual and decide again ... }
//	events, _ := store.Load(ctx, "order-42", 0)
//
// # Streams and versions
//
// An aggregate's events have versions 1, 2, 3, ... without a gap. Append
// takes the version the caller last saw (0: a new stream) and fails with
// a *ConflictError, naming the actual version, when the stream has moved
// on: of two writers that read the same version, one wins. Any skips the
// check. An Append is atomic: all its events or none.
//
// Names (aggregate, Type, ID, Meta keys) are non-empty, at most 255 bytes of
// UTF-8 without NUL; Meta values are UTF-8 without NUL. Meta keys that the
// Store writes itself (event-type, aggregate-id, event-version, the codec's
// content-type, schema-version, message-type, the trace context's
// traceparent, tracestate, baggage) and those starting with "mq-" are
// refused. An event's Time is between years 1 and 9999.
//
// # Publishing
//
// Each stored event is published to the topic (WithTopic, default
// "domain-events") as a message whose ID is the event's ID, whose Key is
// the aggregate, whose payload is Data, and whose headers are Meta plus
// event-type, aggregate-id and event-version (decimal).
//
// # Guarantees
//
// Delivery: an event is published if and only if it was stored, at least
// once, always under its own ID: a consumer with mq.WithDedup sees it
// exactly once in effect. With the PostgreSQL backend the messages are
// written to an mq/outbox table (groundwork_events_outbox) in the
// transaction that stores the events, and the outbox relay, which the
// Store runs until Close, publishes them after the commit: a process that
// dies after the commit has them published by the next relay (in this
// process after a restart, or in another one); a transaction that rolls
// back publishes nothing. The memory backend queues them in memory: they
// are lost with the process, as its events are.
//
// Order: per aggregate, version order. Writers of one aggregate are
// serialised by the compare-and-set of its version, and the relay
// publishes an aggregate's messages in the order they were committed.
//
// Outages: Append does not wait for the bus. While it is unreachable the
// relay retries with backoff, keeping order; once it is back, everything
// stored meanwhile is published.
//
// Consistency: Load reads what is committed: after an Append returns, Load
// (in any process, for PostgreSQL) sees its events.
//
// # Schema versions
//
// With WithCodec, Append writes the codec headers (content-type,
// schema-version at the type's current version, message-type) into the
// Meta of every event whose Type the registry knows, so they are stored
// and published with it; Data must then be that type's current shape
// (Registry.Encode). Load returns the Data of an event stored at an older
// version upcast to the current one (Registry.Upgrade) with its Meta's
// schema-version updated; subscribers upcast with codec.Handler. An event
// of a registered type stored without a schema-version (appended before
// WithCodec) is at version 1, as codec reads a message without one.
//
// # Backends
//
// Backend is the SPI behind a Store; NewMemoryBackend and
// NewPostgresBackend implement it, and package backendtest holds the
// contract a backend must pass. A Store owns its backend (Close closes
// it) and a backend serves one Store. The PostgreSQL backend creates its
// tables (groundwork_streams, groundwork_events and the outbox's) if they
// are missing; several processes may share them.
//
// # Errors
//
// ErrConflict (as *ConflictError with Aggregate, Expected and Actual): the
// stream was not at the expected version. ErrInvalid: a bad argument or
// option, the message naming it. ErrDuplicate: an event ID already
// stored, or twice in one Append. ErrClosed: the Store was closed. A
// message the bus would refuse (mq.ErrTooLarge, mq.ErrInvalid) fails the
// Append with nothing stored. Load of an event whose schema version the
// registry cannot read returns the codec's error (codec.ErrVersion, ...),
// naming the event. Backend errors are wrapped as "eventstore: <op>:
// ..."; context errors are returned as they are. An Append whose
// connection was lost during its commit may have been stored: retrying it
// with the same event IDs is safe (a stored one answers ErrConflict or,
// with Any, ErrDuplicate), which is why callers that retry should set IDs.
//
// # Close
//
// Close stops the relay, waits for the calls in flight and closes the
// backend; Shutdown(ctx) first waits until what was stored is published
// (or ctx ends, or the relay stops for good because the bus was closed).
// Both are idempotent; afterwards every method returns ErrClosed. Neither
// closes the bus or the PostgreSQL pool. No goroutine outlives them.
//
// # Metrics
//
// eventstore.appends{eventstore.topic, outcome: ok|conflict|error},
// eventstore.events.appended and eventstore.events.loaded
// {eventstore.topic}: observable counters read from atomics. The
// PostgreSQL backend's relay reports mq/outbox's metrics (outbox.enqueued,
// outbox.relayed; outbox.table "groundwork_events_outbox") to the same
// meter provider, and logs to the Store's logger.
//
// # URLs, As
//
// None: a Store is built on a Backend and an *mq.Client the caller
// provides.
package eventstore
