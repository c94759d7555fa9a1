package mq

import (
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
