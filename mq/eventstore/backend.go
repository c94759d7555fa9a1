package eventstore

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/mq"
)

// Backend is where a Store keeps its streams and the outbox of messages
// announcing them. It is exported so that users can bring their own;
// package backendtest holds the contract every backend must pass. A
// Store calls Attach once, then the others from many goroutines.
type Backend interface {
	// Attach binds the backend to the bus its relay publishes to (and
	// whose limits Append checks messages against), with the Store's
	// logger and meter provider. A Store calls it once, in New, before any
	// other method; a second call is an error.
	Attach(ctx context.Context, a Attachment) error

	// Append stores events at the end of aggregate's stream, if the
	// stream is at version expected (0: a new stream; Any: no check),
	// and returns the stream's new version. Else it stores nothing and
	// returns a *ConflictError with the actual version.
	//
	// It sets the events' Versions (expected+1, ... or after the current
	// version for Any), then calls announce with them for the messages
	// to publish, and stores events and messages atomically: all or
	// nothing, also across a crash. An error of announce, a message the
	// bus would refuse (mq.Client.Check), or an ID already stored
	// (ErrDuplicate) stores nothing. The other fields are stored as given:
	// the Store has set IDs and Times.
	Append(ctx context.Context, aggregate string, expected uint64, events []Event, announce Announce) (uint64, error)

	// Load returns up to limit (all when limit <= 0) events of aggregate
	// with versions above after, in version order; none for an unknown
	// aggregate.
	Load(ctx context.Context, aggregate string, after uint64, limit int) ([]Event, error)

	// Relay publishes the stored messages not yet sent, in the order they
	// were appended per aggregate, each under its own ID, until ctx ends
	// (ctx.Err()) or the backend is closed (ErrClosed). It retries a bus
	// outage without returning.
	Relay(ctx context.Context) error

	// Flush waits until every message stored before the call was sent (or
	// refused for good by the bus), or ctx ends. A relay must be running.
	Flush(ctx context.Context) error

	// Close releases what the backend owns (not a pool or client it was
	// given); afterwards every method returns ErrClosed. Idempotent.
	Close() error
}

// Announce returns the messages that announce events, whose versions are
// set, for the backend to store with them.
type Announce func(events []Event) ([]*mq.Message, error)

// Attachment is what a Store gives its backend in Attach. Fields may be
// added; a backend uses those it needs.
type Attachment struct {
	Bus           *mq.Client           // where the relay publishes; never nil
	Logger        *slog.Logger         // for relay failures; never nil
	MeterProvider metric.MeterProvider // for the relay's metrics; never nil
}
