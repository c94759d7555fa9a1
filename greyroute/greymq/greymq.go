// Package greymq publishes greyroute's automatic rollbacks on an mq topic:
// Sink is a greyroute.EventSink for RollbackPolicy.Sink.
//
//	client, _ := mq.Open(ctx, "kafka://broker:9092")
//	r, _ := greyroute.NewRouter(rdb, greyroute.WithAutoRollback(greyroute.RollbackPolicy{
//		Sink: greymq.Sink(client, "greyroute.rollbacks"),
//	}))
//
// It is a package of its own so that greyroute does not import mq.
//
// # Messages
//
// One message per rollback, published by the Router whose script made the
// change: the Key is the service (a service's rollbacks keep their order),
// the ID the event's ID (consumers deduplicate on it, as mq does), the
// Payload the event's JSON (greyroute.RollbackEvent's fields: id, service,
// version, error_rate, requests, failures, window_ns, time, router), and
// the header content-type is application/json.
//
// # Guarantees
//
// Delivery is mq's: one Emit per rollback, by the Router whose script
// made the change (mq's own retries may deliver it twice: deduplicate on
// the ID). A publish that fails is logged and counted by the Router
// (greyroute.rollbacks{outcome="emit_failed"}) and not retried beyond
// mq's own retry policy; the rollback itself is recorded in Redis either
// way (Table.LastRollback), so a lost event loses no state. Ordering: a
// service's rollbacks share a Key, which mq keeps in order.
//
// # Errors
//
// Emit: greyroute.ErrInvalid for a nil client or an empty topic; mq's
// errors (mq.ErrUnreachable, ...) wrapped with the topic and the event;
// a context error as it is.
package greymq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/mq"
)

// Sink returns an EventSink publishing each rollback event on topic
// through client. The client stays the caller's to close, after the
// Routers using the sink.
func Sink(client *mq.Client, topic string) greyroute.EventSink {
	return sink{client: client, topic: topic}
}

type sink struct {
	client *mq.Client
	topic  string
}

// Emit publishes e; see the package doc's # Messages.
func (s sink) Emit(ctx context.Context, e greyroute.RollbackEvent) error {
	switch {
	case s.client == nil:
		return fmt.Errorf("%w: greymq: Sink: nil mq client", greyroute.ErrInvalid)
	case s.topic == "":
		return fmt.Errorf("%w: greymq: Sink: empty topic", greyroute.ErrInvalid)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("greymq: encode rollback %s: %w", e.ID, err)
	}
	err = s.client.Publish(ctx, &mq.Message{ID: e.ID, Topic: s.topic, Key: e.Service, Payload: b,
		Headers: map[string]string{"content-type": "application/json"}})
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("greymq: publish rollback %s of %q of service %q to %q: %w", e.ID, e.Version, e.Service, s.topic, err)
	}
	return nil
}
