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
