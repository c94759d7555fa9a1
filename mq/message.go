package mq

import (
	"context"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// Message is one message. Publish fills ID (a UUIDv7) and Time when they
// are empty; Attempt is set on receive.
type Message struct {
	// ID identifies the message across redeliveries; dedup keys on it.
	ID string
	// Topic is where the message is published; required.
	Topic string
	// Key orders messages: those with one key are handled in publish
	// order, one at a time. Empty means no ordering.
	Key string
	// Payload is the body; it may be empty.
	Payload []byte
	// Headers travel with the message unchanged. Keys starting with
	// "mq-" are reserved for this package; "traceparent" and
	// "tracestate" carry trace context.
	Headers map[string]string
	// Time is when the message was first published.
	Time time.Time
	// Attempt is the delivery attempt, 1-based, set on receive.
	Attempt int
}

// Handler handles one message. Returning nil acknowledges it; an error (or
// a panic) has it tried again after a backoff, and dead-lettered after the
// last attempt. ctx is cancelled when the Subscription is shut down with an
// expired deadline.
type Handler func(ctx context.Context, m *Message) error

// Headers set on dead-lettered messages; the original headers are kept.
const (
	HeaderDLQError    = "mq-dlq-error"    // the last handler error
	HeaderDLQAttempts = "mq-dlq-attempts" // how many attempts were made
	HeaderDLQTopic    = "mq-dlq-topic"    // the topic it came from
	HeaderDLQGroup    = "mq-dlq-group"    // the group that gave up on it
)

// prepare validates m, fills its Time, and converts it (newIDs has filled
// its ID). Headers
// are shared with the caller's map unless trace context must be added.
func (c *Client) prepare(ctx context.Context, m *Message, i int, now time.Time) (driver.Message, error) {
	if m == nil {
		return driver.Message{}, fmt.Errorf("%w: message %d is nil", ErrInvalid, i)
	}
	if m.Topic == "" {
		return driver.Message{}, fmt.Errorf("%w: message %d has an empty Topic", ErrInvalid, i)
	}
	if m.Time.IsZero() {
		m.Time = now
	}
	dm := driver.Message{ID: m.ID, Topic: m.Topic, Key: m.Key, Payload: m.Payload, Headers: m.Headers, Time: m.Time}
	dm.Headers = c.injectTrace(ctx, dm.Headers)
	if c.maxBytes > 0 {
		if n := dm.Size(); n > c.maxBytes {
			return driver.Message{}, fmt.Errorf("%w: message %d (ID %s) is %d bytes, the limit is %d", ErrTooLarge, i, m.ID, n, c.maxBytes)
		}
	}
	return dm, nil
}

// fillMessage sets m to what a handler sees of d at attempt.
func fillMessage(m *Message, d *driver.Delivery, attempt int) {
	*m = Message{
		ID: d.ID, Topic: d.Topic, Key: d.Key, Payload: d.Payload,
		Headers: d.Headers, Time: d.Time, Attempt: attempt,
	}
}
