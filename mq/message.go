package mq

import (
	"context"
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
	if err := checkMessage(m, i); err != nil {
		return driver.Message{}, err
	}
	if m.Time.IsZero() {
		m.Time = now
	}
	dm := *m
	dm.Attempt = 0 // a receive sets it
	dm.Headers = c.injectTrace(ctx, dm.Headers)
	// Sized after the trace headers are added: they count too.
	if err := c.checkSize(&dm, i); err != nil {
		return driver.Message{}, err
	}
	return dm, nil
}
