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
