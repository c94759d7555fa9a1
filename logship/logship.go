// Package logship ships a service's logs reliably — a log/slog Handler
// whose records are batched, optionally buffered on disk, redacted and
// sampled, and delivered to a Sink (an mq topic, Elasticsearch's bulk
// API, a file) — and holds the pipeline behind it: the Indexer that
// drains a topic into Elasticsearch, the Archiver that keeps a cold copy,
// and the Alerter that watches error rates.
//
// Work in progress (issue 18): this commit holds the types the pieces
// share — Record, Sink and its per-record outcomes, the errors. Nothing
// ships yet.
//
// # Shipping
//
// A Shipper delivers records to its Sink in batches — count, bytes and
// interval, WithBatch — from one goroutine, one Write at a time. In front
// of it is a queue bounded by records and by bytes (WithQueue,
// WithQueueBytes), so memory never grows without bound; when it is full
// the policy applies: DropNewest (the default), DropOldest, or Block(d),
// which makes the logging call wait up to d and then drops. Every record
// given up is counted in logship.shipper.dropped by reason (queue_full,
// evicted, block_timeout, too_large, buffer_full, buffer_error, closed,
// retries_exhausted, permanent, dead_letter_failed, shutdown, quarantined)
// and reported to WithErrorHandler as ErrDropped (ErrClosed after
// Shutdown).
//
// Failures. A Write that fails as a whole is retried with backoff
// (WithRetry), unless the Sink marked its error Permanent. Of a Write that
// went through, only the records the Sink refused are written again,
// without the others: retryable ones (a 429, a 5xx item) after a backoff,
// permanent ones (a mapping error) never — they go to the dead-letter Sink
// (WithDeadLetter) with the reason in the DeadLetterField of their JSON,
// or, without one, are logged and counted. Attempts count a record's
// failures; a record still refused when they run out is dead-lettered
// too, so one bad document never holds up the ones behind it and no
// record is retried for ever. Without a disk buffer, a Sink that stays
// down costs the records of a batch once the retry policy runs out
// (counted, retries_exhausted).
//
// Crash safety. With WithBuffer(dir), submit returns only once the record
// is appended to a write-ahead log in dir; the goroutine reads batches
// from it and acknowledges them, in order, only after the Sink accepted
// them or they were dead-lettered or given up. A Sink that stays down is
// retried without end while the records wait on disk; the buffer is
// bounded by WithBufferMaxBytes (1 GiB), and when it is full the queue
// policy applies (DropOldest is refused: what is on disk was promised).
// After a crash or restart, a new Shipper on the same dir delivers what
// was left, oldest first. fsync (WithBufferSync): by default every 200ms,
// so a process crash (SIGKILL, OOM kill, panic) loses nothing submitted
// and a power loss at most the last 200ms; SyncAlways loses nothing even
// then, at an fsync per record. A record cut short by the crash at the end
// of the log was never acknowledged to its caller and is dropped on open.
// A part of the log damaged on disk, or a record that does not decode, is
// moved to dir/quarantine (ReadQuarantine lists it) and counted
// (quarantined): it never stalls the records behind it.
//
// Guarantees. With a disk buffer: at-least-once — every record whose
// submit returned is delivered, dead-lettered or counted as given up,
// across crashes; a crash between a Write and its acknowledgement
// delivers the batch again, and a duplicate carries the same event id
// (Record.ID), so a store keyed by it (the Indexer's _id) keeps one copy.
// Without one: at most once, give or take a retry — what is in memory at a
// crash is lost, and a Write that timed out but had reached the store is
// written again. Order is submit order, except that records written again
// come after the batch they were part of. Shutdown writes what is queued
// (retries included) until its context ends; then records in memory are
// dropped (counted, shutdown) and records on disk wait for the next run.
package logship

import "errors"

// Errors of the package, matched with errors.Is.
var (
	// ErrClosed is returned by every call after Shutdown.
	ErrClosed = errors.New("logship: closed")
	// ErrInvalid wraps a bad argument or option, named in the message.
	ErrInvalid = errors.New("logship: invalid argument")
	// ErrDropped is reported (to the error handler and the metrics, never
	// to slog, whose Handle cannot fail a caller) for a record the full
	// queue's policy dropped.
	ErrDropped = errors.New("logship: record dropped")
)
