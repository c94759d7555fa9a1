package mq

import (
	"context"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// Message is one message: what Publish sends and what a Handler gets.
// Publish fills ID (a UUIDv7) and Time when they are empty; Attempt is set
// on receive. Its fields (ID, Topic, Key, Payload, Headers, Time, Attempt)
// are documented on driver.Message: the type is defined there so that a
// received message reaches the handler without being copied.
type Message = driver.Message

// Handler handles one message. Returning nil acknowledges it; an error (or
// a panic) has it tried again after a backoff, and dead-lettered after the
// last attempt; Permanent(err) dead-letters it at once and RetryAfter(err,
// d) sets the wait before the next attempt. ctx is cancelled when the
// Subscription is shut down with an expired deadline.
//
// m is the received message itself, which the Subscription goes on using
// to acknowledge, dedup or dead-letter it: the handler must not modify it
// (copy it to make a changed one). It may keep m; no later attempt
// changes it.
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
	dm := *m
	dm.Attempt = 0 // a receive sets it
	dm.Headers = c.injectTrace(ctx, dm.Headers)
	if c.maxBytes > 0 {
		if n := dm.Size(); n > c.maxBytes {
			return driver.Message{}, fmt.Errorf("%w: message %d (ID %s) is %d bytes, the limit is %d", ErrTooLarge, i, m.ID, n, c.maxBytes)
		}
	}
	return dm, nil
}
