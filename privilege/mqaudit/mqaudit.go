// Package mqaudit is a privilege.AuditSink publishing each decision as a
// JSON message to an mq topic, in batches. It is a package of its own so
// that privilege does not import mq.
//
// # Messages
//
// One message per decision: Key is the subject (so one subject's
// decisions are handled in the order they were made), Payload a JSON
// object, header "content-type" "application/json" and header
// "schema" "privilege.audit/v1":
//
//	{
//	  "subject":    "alice",           // Request.Subject
//	  "resource":   "orders/42",       // Request.Resource
//	  "action":     "read",            // Request.Action
//	  "allowed":    true,              // Decision.Allowed
//	  "reason":     "role reader ...", // Decision.Reason
//	  "policy_id":  "",                // Decision.PolicyID, "" when none
//	  "role":       "reader",          // Decision.Role, "" when none
//	  "version":    12,                // the store version decided at
//	  "source":     "computed",        // AuditEvent.Source: "l1", "l2", "computed", "failopen" or "error"
//	  "decided_at": "2026-01-02T03:04:05.123456789Z" // RFC 3339, the engine's clock
//	}
//
// Fields are only ever added to v1; a consumer should ignore fields it
// does not know.
//
// # Batching, drops and retries
//
// Audit only queues the event (it never blocks Check); a writer publishes
// a batch (one Publish call, in order) when WithAuditBatch's size is
// queued or its interval has passed. A full queue (WithAuditQueue) drops
// the event, counted as privilege.audit.dropped{sink="mq"} and logged
// once per burst. A failed Publish is retried (WithAuditRetry, on top of
// the Client's own retry); a batch the broker refuses as invalid or too
// large is split down to the message at fault, which alone is given up;
// what is given up is counted as privilege.audit.failed and logged.
//
// Delivery is at least once: a retried batch may publish again messages
// that had been sent. Each message's ID is fixed before the first attempt
// (the batch's random id and the message's place in it), so a consumer
// with mq.WithDedup sees each decision once.
//
// Shutdown publishes what is queued and stops the writer; no goroutine
// outlives it. It does not close the Client, which stays the caller's.
package mqaudit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/internal/auditbatch"
)

// Schema is the "schema" header of every message.
const Schema = "privilege.audit/v1"

// Event is a message's JSON payload.
type Event struct {
	Subject   string    `json:"subject"`
	Resource  string    `json:"resource"`
	Action    string    `json:"action"`
	Allowed   bool      `json:"allowed"`
	Reason    string    `json:"reason"`
	PolicyID  string    `json:"policy_id"`
	Role      string    `json:"role"`
	Version   uint64    `json:"version"`
	Source    string    `json:"source"`
	DecidedAt time.Time `json:"decided_at"`
}

// Sink publishes audit events to a topic. Create it with New.
type Sink struct {
	client *mq.Client
	topic  string
	b      *batcher.Batcher[privilege.AuditEvent]
}

var _ privilege.AuditSink = (*Sink)(nil)

// New returns a sink publishing to topic through client, batched as opts
// say. A nil client, an empty topic or a bad option is privilege.ErrInvalid.
func New(client *mq.Client, topic string, opts ...privilege.AuditOption) (*Sink, error) {
	if client == nil || topic == "" {
		return nil, auditbatch.Invalid("mq", privilege.ErrInvalid, "a client and a topic are needed")
	}
	s := &Sink{client: client, topic: topic}
	b, err := auditbatch.New("mq", privilege.ErrInvalid, s.flush, opts)
	if err != nil {
		return nil, err
	}
	s.b = b
	return s, nil
}

// Audit queues e; it never blocks. A full queue, or a sink shut down,
// drops e and counts it.
func (s *Sink) Audit(_ context.Context, e privilege.AuditEvent) { s.b.Add(e) }

// Shutdown publishes what is queued and stops the writer; it is
// idempotent. It returns ctx's error if ctx ended first (what was left is
// counted as failed), or an error if events queued before it could not
// be published.
func (s *Sink) Shutdown(ctx context.Context) error {
	if err := s.b.Shutdown(ctx); err != nil {
		return fmt.Errorf("privilege: audit to mq topic %q: shutdown: %w", s.topic, err)
	}
	return nil
}

// flush publishes one batch in one Publish call.
func (s *Sink) flush(ctx context.Context, bt batcher.Batch[privilege.AuditEvent]) error {
	prefix := "audit-" + strconv.FormatUint(bt.ID, 16) + "-"
	msgs := make([]*mq.Message, len(bt.Items))
	for i, e := range bt.Items {
		payload, err := json.Marshal(Event{
			Subject: e.Subject, Resource: e.Resource, Action: e.Action, Allowed: e.Allowed,
			Reason: e.Reason, PolicyID: e.PolicyID, Role: e.Role, Version: e.Version,
			Source: e.Source, DecidedAt: e.Time,
		})
		if err != nil { // a Time outside years 0-9999
			return batcher.BadBatch(err)
		}
		msgs[i] = &mq.Message{
			ID: prefix + strconv.Itoa(i), Topic: s.topic, Key: e.Subject, Payload: payload,
			Headers: map[string]string{"content-type": "application/json", "schema": Schema},
		}
	}
	err := s.client.Publish(ctx, msgs...)
	switch {
	case errors.Is(err, mq.ErrInvalid), errors.Is(err, mq.ErrTooLarge):
		return batcher.BadBatch(err) // nothing was sent; split to find the message
	case errors.Is(err, mq.ErrClosed):
		return batcher.Permanent(err)
	}
	return err
}
