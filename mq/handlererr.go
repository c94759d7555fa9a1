package mq

import (
	"errors"
	"time"
)

// MaxRetryAfter caps the wait RetryAfter asks for. A message waiting for
// its next attempt stays received and unacknowledged, holding back its key
// (and, on Kafka, the committed offset of its partition): a longer pause
// is better spent in the dead-letter topic, to be re-driven later.
const MaxRetryAfter = 15 * time.Minute

// Permanent marks err, returned by a Handler, as a failure no further
// attempt can fix (an unknown product, a message that fails validation):
// the message goes to the dead-letter topic at once, after this attempt,
// with err's text in HeaderDLQError, instead of being retried up to
// WithMaxAttempts (as asynq's SkipRetry and backoff.Permanent do).
// errors.Is and errors.As see err through the mark, and its text is
// err's. The mark may itself be wrapped: a handler that returns
// fmt.Errorf("charge: %w", mq.Permanent(err)) dead-letters the message at
// once, with "charge: " and err's text. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// RetryAfter asks, from a Handler, that the next attempt at the message
// come after d, instead of after the redelivery backoff's next wait: for
// example the wait an upstream service's Retry-After asks for. It is still
// a failed attempt: after WithMaxAttempts of them the message is
// dead-lettered as usual, with err's text. d is capped at MaxRetryAfter;
// d ≤ 0 tries again at once. Only the message's key waits. errors.Is and
// errors.As see err through it, and its text is err's; Permanent wins over
// it. RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: d}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// isPermanent reports whether a handler's error is marked Permanent.
func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfter returns the wait a handler's error asks for with RetryAfter,
// capped, and whether it asks for one.
func retryAfter(err error) (time.Duration, bool) {
	var ra *retryAfterError
	if !errors.As(err, &ra) {
		return 0, false
	}
	return min(max(ra.after, 0), MaxRetryAfter), true
}
