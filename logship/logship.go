package logship

import "errors"

// Errors of the package, matched with errors.Is.
var (
	// ErrClosed is returned by every call after Shutdown (Close for the
	// Alerter) and reported for the records submitted after it.
	ErrClosed = errors.New("logship: closed")
	// ErrInvalid wraps a bad argument or option, named in the message.
	ErrInvalid = errors.New("logship: invalid argument")
	// ErrDropped is reported (to WithErrorHandler and, by reason, to the
	// metrics; never to slog, whose Handle cannot fail a caller) for a
	// record the Shipper gave up: a full queue or buffer, retries run out,
	// a permanent refusal without a dead-letter Sink, ... (see the reasons
	// in the package doc's # Shipping).
	ErrDropped = errors.New("logship: record dropped")
)
