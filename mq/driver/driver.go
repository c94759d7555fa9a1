// Package driver is the provider SPI of package mq. Application code never
// imports it; provider authors implement Driver and Conn and register them
// with mq.Register from an init function.
//
// Providers stay small: they move messages and report errors. Retries,
// circuit breaking, outage buffering, dedup, per-key ordering, dead-letter
// handling and tracing are done once, in package mq. A provider must never
// retry on its own; it reports retryable failures through Conn.IsRetryable
// and maps its errors onto mq's sentinels (ErrTooLarge, ErrUnreachable).
//
// Error text: mq wraps what a Conn returns as "mq: <call> via <provider>:
// <error>", so a provider's errors name neither the provider nor the call
// again, and put a sentinel first ("%w: %v", ErrUnreachable, err), whose
// "mq: " mq then drops: the user reads "mq: publish to "t" via redis:
// broker unreachable: dial tcp ...", with package mq named once.
package driver

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// Errors a provider returns (wrapped, so errors.Is matches) and package mq
// re-exports under its own names.
var (
	// ErrTooLarge: a message is over the provider's size limit; nothing
	// from the call was sent.
	ErrTooLarge = errors.New("mq: message too large")
	// ErrUnreachable: the broker could not be reached; the call may be
	// retried.
	ErrUnreachable = errors.New("mq: broker unreachable")
	// ErrUnsupported: the provider lacks a capability the call needs.
	ErrUnsupported = errors.New("mq: not supported by this provider")
	// ErrBadURL: the URL is malformed or has an unknown parameter.
	ErrBadURL = errors.New("mq: bad URL")
)

// Message is one message: package mq's Message (an alias of this type, so
// that a received message reaches the handler without a copy). A provider
// must not modify Headers or Payload of a message handed to Publish, and
// leaves Attempt zero: mq sets it for the handler from Delivery.Attempt.
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
	// "mq-" are reserved for package mq; "traceparent" and "tracestate"
	// carry trace context.
	Headers map[string]string
	// Time is when the message was first published.
	Time time.Time
	// Attempt is the handler's attempt at the message, 1-based, set on
	// receive: 1 the first time, plus the attempts made before (by this
	// member or, where the provider counts them, by others).
	Attempt int
}

// Size is the message's size as counted against a provider's limit: key,
// payload and headers.
func (m *Message) Size() int {
	n := len(m.Key) + len(m.Payload) + len(m.ID)
	for k, v := range m.Headers {
		n += len(k) + len(v)
	}
	return n
}

// Delivery is a received message.
type Delivery struct {
	Message
	// Attempt (which shadows Message.Attempt) is the provider's count:
	// the attempt number of this delivery: 1 the first time,
	// plus the attempts earlier members made. A hand-over (a member
	// leaving, a rebalance) is not an attempt: a provider that counts
	// deliveries must undo the count of a delivery handed back by Nack.
	// Before mq nacks a delivery it sets Attempt to the number the next
	// delivery should carry, so that a provider able to store it (redismq)
	// keeps counting across members.
	Attempt int
	// Handle is the provider's own token for Ack and Nack.
	Handle any
}

// Driver opens connections for one URL scheme.
type Driver interface {
	// Open connects using u. It rejects unknown query parameters with an
	// error wrapping ErrBadURL that names the parameter.
	Open(ctx context.Context, u *url.URL) (Conn, error)
}

// Conn is one connection to a broker.
type Conn interface {
	// Publish sends msgs and returns nil only when the broker acknowledged
	// every one. On error any subset may have been sent.
	Publish(ctx context.Context, msgs []Message) error
	// Subscribe joins group on topic and returns once the member is live:
	// every message published after Subscribe returns reaches the group.
	Subscribe(ctx context.Context, topic, group string) (Receiver, error)
	// IsRetryable reports whether err (from any method) is transient.
	IsRetryable(err error) bool
	// As sets target to the native client when the types match.
	As(target any) bool
	// Close releases the connection. Receivers are closed first by mq.
	Close() error
}

// Receiver is one member of a consumer group.
type Receiver interface {
	// Receive blocks until at least one delivery is available, ctx is
	// done or the receiver is closed, and returns at most max deliveries.
	// Deliveries sharing a key come in publish order. Each Delivery is
	// new: a redelivery is another one, as the handler of the first may
	// still hold its Message.
	Receive(ctx context.Context, max int) ([]*Delivery, error)
	// Ack marks d handled; it is not delivered to the group again.
	Ack(ctx context.Context, d *Delivery) error
	// Nack gives d up unhandled: it is delivered again, to this or
	// another member, at the latest once this member has left the group.
	// mq nacks what it hands back (shutting down, partitions revoked) and
	// a message whose dead-lettering failed. A Nack does not count as an
	// attempt (see Delivery.Attempt).
	Nack(ctx context.Context, d *Delivery) error
	// Close leaves the group. Deliveries neither acked nor nacked are
	// redelivered to the remaining members.
	Close() error
}

// Optional capabilities, detected by type assertion on a Conn.

// Pinger checks that the broker answers. mq.Open calls it once, within
// its context, before returning a Client (unless mq.WithLazyConnect), and
// mq.Client.Ping calls it. Ping returns within ctx, with an error wrapping
// ErrUnreachable when the broker cannot be reached or does not answer.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Namer names the provider as its URL scheme does ("kafka", "redis"). mq
// uses the name in errors, traces and metrics (the mq.provider attribute);
// without it, a Client made by mq.Open uses the URL's scheme and one made
// by mq.NewClient the Conn's Go type.
type Namer interface {
	ProviderName() string
}

// GroupDeleter is an optional capability of a Conn: removing a consumer
// group and what the broker keeps for it (offsets, pending entries), for
// groups made for one subscription (mq.WithEphemeralGroup). It is called
// after the group's last member left.
type GroupDeleter interface {
	DeleteGroup(ctx context.Context, topic, group string) error
}

// BatchAcker is an optional capability of a Receiver: acknowledging many
// deliveries in one call, as mq does for the messages one worker handled in
// a row. Its effect must equal Ack on each, in order. ds is mq's to reuse
// once AckBatch returns: a receiver keeps no reference to it.
type BatchAcker interface {
	AckBatch(ctx context.Context, ds []*Delivery) error
}

// Aser is an optional capability of a Receiver: handing out the
// provider's native consumer of this member (a client or consumer of its
// own, not the Conn's), for mq.Subscription.As. As sets target to it when
// the types match and reports whether it did. Once Close has begun it
// returns false: the consumer is shut down, or is being shut down. A
// receiver that reads through the Conn's client has nothing of its own to
// hand out and does not implement Aser.
type Aser interface {
	As(target any) bool
}

// SizeLimiter reports the largest message (by Message.Size) the provider
// accepts, so that mq rejects larger ones with ErrTooLarge before sending.
type SizeLimiter interface {
	MaxMessageBytes() int
}

// Revoker is an optional capability of a Receiver whose broker takes
// deliveries away from a member that holds them: a Kafka rebalance, a lost
// Redis lease. mq calls SetRevokeFunc once, before the first Receive.
//
// When it takes a partition away, the receiver first makes Revoked report
// true for every delivery of the partition it handed out, and stops
// handing out more, then calls the RevokeFunc. mq asks Revoked of every
// delivery it queues, under the same lock the RevokeFunc takes, so a
// delivery Receive returned just before the revocation (in transit to
// mq's queues) is handed back too, never handled after the ones before it
// were handed back.
type Revoker interface {
	SetRevokeFunc(fn RevokeFunc)
	// Revoked reports whether d's partition was taken from this member
	// since d was handed out. It is called with mq's lock held and must
	// be quick (an atomic load).
	Revoked(d *Delivery) bool
}

// RevokeFunc tells mq that the deliveries for which taken reports true
// are taken away from this member (or are about to be). mq nacks those not
// yet started, and returns once none of them is being handled or ctx ends.
// With lost false (the member still owns them, as in a Kafka revoke) it
// waits for running handlers; with lost true (ownership is already gone)
// it first cancels their context. Either way a handler that succeeds is
// acknowledged, and one that fails is nacked, not retried or counted as a
// failed attempt: the next owner handles the message. taken is
// called with mq's lock held: it must be quick and must not call back into
// the Receiver. A receiver must not call the RevokeFunc from Receive, Ack,
// Nack or AckBatch.
type RevokeFunc func(ctx context.Context, taken func(*Delivery) bool, lost bool)
