package mq

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// NewIDs gives every message of msgs that has no ID a UUIDv7, as Publish
// does, for callers that store messages to publish later (mq/outbox) and
// need their IDs fixed first. Nil messages are left alone.
func NewIDs(msgs ...*Message) error { return newIDs(msgs, time.Now()) }

// Check reports the first message of msgs that Publish would refuse
// (ErrInvalid for a nil message or an empty Topic, ErrTooLarge for one
// over the provider's size limit), naming it, without sending or changing
// anything. It is for callers that accept messages now and publish them
// later. Trace headers that Publish may add are not counted.
func (c *Client) Check(msgs ...*Message) error {
	for i, m := range msgs {
		if err := checkMessage(m, i); err != nil {
			return err
		}
		if err := c.checkSize(m, i); err != nil {
			return err
		}
	}
	return nil
}

// checkMessage refuses a nil message and an empty Topic.
func checkMessage(m *Message, i int) error {
	if m == nil {
		return fmt.Errorf("%w: message %d is nil", ErrInvalid, i)
	}
	if m.Topic == "" {
		return fmt.Errorf("%w: message %d has an empty Topic", ErrInvalid, i)
	}
	return nil
}

// checkSize refuses a message over the provider's size limit.
func (c *Client) checkSize(m *Message, i int) error {
	if c.maxBytes > 0 {
		if n := m.Size(); n > c.maxBytes {
			return fmt.Errorf("%w: message %d (ID %s) is %d bytes, the limit is %d", ErrTooLarge, i, m.ID, n, c.maxBytes)
		}
	}
	return nil
}

// IsRetryable reports whether err, returned by Publish, is a failure that
// a later attempt may not meet: the broker unreachable (as the provider
// classifies its errors), the circuit breaker open, or the outage buffer
// full. Any other error happens again however often the call is repeated:
// a message refused (ErrInvalid, ErrTooLarge), a closed Client, or a
// provider error the provider does not retry (no permission on the topic,
// a Redis key of another type). It is for callers that publish later and
// must not retry a refusal for ever (mq/outbox). Context errors are not
// retryable here: the caller knows whether its context ended.
func (c *Client) IsRetryable(err error) bool {
	switch {
	case err == nil, errors.Is(err, ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrBufferFull):
		return true
	}
	return c.conn.IsRetryable(err)
}

// TraceHeaders returns headers with the trace context of ctx added as
// Publish adds it (the Client's propagator; W3C traceparent by default),
// in a new map, or headers itself when ctx carries no span. It is for
// callers that store a message now and publish it later from another
// context (mq/outbox), so that the consumer's span follows the request
// that produced the message, not the relay that sent it.
func (c *Client) TraceHeaders(ctx context.Context, headers map[string]string) map[string]string {
	return c.injectTrace(ctx, headers)
}
