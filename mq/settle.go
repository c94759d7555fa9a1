package mq

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Settling a delivery: acknowledging it, handing it back, or
// dead-lettering it. Each frees one unit of prefetch (settled).

func (s *Subscription) settled() { s.settledN(1) }

// settledN frees n units of prefetch at once, as for a run acknowledged
// together.
func (s *Subscription) settledN(n int) {
	s.inflight.Add(-int64(n))
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// ack acknowledges d, retrying transient failures. A failure that remains
// is logged: the message will be redelivered, which at-least-once allows.
func (s *Subscription) ack(d *driver.Delivery) {
	err := retrying.Do(s.work, s.c.opts.retry, s.c.conn.IsRetryable, func(ctx context.Context) error {
		return s.recv.Ack(ctx, d)
	})
	if err != nil && !s.abandoned.Load() {
		s.c.opts.logger.Warn("mq: ack failed; the message will be redelivered", "topic", s.topic, "id", d.ID, "err", err)
	}
}

// ackAll acknowledges ds, in one call where the receiver can, and settles
// them.
func (s *Subscription) ackAll(ds []*driver.Delivery) {
	if len(ds) == 0 {
		return
	}
	if ba, ok := s.recv.(driver.BatchAcker); ok && len(ds) > 1 {
		err := retrying.Do(s.work, s.c.opts.retry, s.c.conn.IsRetryable, func(ctx context.Context) error {
			return ba.AckBatch(ctx, ds)
		})
		if err != nil && !s.abandoned.Load() {
			s.c.opts.logger.Warn("mq: ack failed; the messages will be redelivered", "topic", s.topic, "count", len(ds), "err", err)
		}
	} else {
		for _, d := range ds {
			s.ack(d)
		}
	}
	s.settledN(len(ds))
}

// nack hands d back to the broker unhandled, telling the provider the
// attempt number its next delivery carries (when above d's own).
func (s *Subscription) nack(d *driver.Delivery, nextAttempt int) {
	if s.abandoned.Load() {
		return
	}
	d.Attempt = max(d.Attempt, nextAttempt)
	if err := s.recv.Nack(s.work, d); err != nil {
		s.c.opts.logger.Debug("mq: nack failed; the broker redelivers on its own", "topic", s.topic, "id", d.ID, "err", err)
	}
}

// maxDLQError bounds the error text a dead-lettered message carries.
const maxDLQError = 4096

// deadLetter publishes d to the dead-letter topic, then acknowledges it.
// Publishing goes through the client's retry policy (or its outage
// buffer), so it ends: if it still fails, d is handed back for redelivery,
// marked so that its next delivery goes straight to the dead-letter topic
// again, and the failure is logged and counted.
func (s *Subscription) deadLetter(d *driver.Delivery, cause error, attempts int) {
	if s.o.noDLQ {
		s.c.opts.logger.Error("mq: dropping message after its last attempt (no dead-letter topic)",
			"topic", s.topic, "group", s.group, "id", d.ID, "attempts", attempts, "err", cause)
		s.ack(d)
		return
	}
	m := s.dlqMessage(d, cause, attempts)
	err := s.c.send(s.work, []driver.Message{m})
	if err == nil {
		s.ack(d)
		return
	}
	s.c.tel.conDLQFailed.add(1)
	if !s.abandoned.Load() {
		s.c.opts.logger.Error("mq: dead-letter publish failed; handing the message back for redelivery",
			"topic", s.topic, "group", s.group, "dlq", s.o.dlqTopic, "id", d.ID, "err", err, "cause", cause)
	}
	// Past the limit whatever attempts says: a message marked Permanent
	// after its first attempt must not be handled again either.
	s.nack(d, max(attempts, s.o.maxAttempts)+1)
}

// dlqMessage is d as published to the dead-letter topic: its headers plus
// the mq-dlq-* ones, with the error text cut so that the message stays
// within the provider's size limit (it did as it was received).
func (s *Subscription) dlqMessage(d *driver.Delivery, cause error, attempts int) driver.Message {
	h := make(map[string]string, len(d.Headers)+4)
	for k, v := range d.Headers {
		h[k] = v
	}
	h[HeaderDLQError] = ""
	h[HeaderDLQAttempts] = strconv.Itoa(attempts)
	h[HeaderDLQTopic] = s.topic
	h[HeaderDLQGroup] = s.group
	m := driver.Message{ID: d.ID, Topic: s.o.dlqTopic, Key: d.Key, Payload: d.Payload, Headers: h, Time: d.Time}
	room := maxDLQError
	if s.c.maxBytes > 0 {
		room = min(room, max(0, s.c.maxBytes-m.Size()))
	}
	h[HeaderDLQError] = truncateUTF8(cause.Error(), room)
	// A message at the limit leaves no room for the headers at all: drop
	// them, least useful first, rather than have the dead-letter topic
	// refuse it for ever. The message itself fit when it was received.
	for _, k := range []string{HeaderDLQError, HeaderDLQGroup, HeaderDLQAttempts, HeaderDLQTopic} {
		if s.c.maxBytes == 0 || m.Size() <= s.c.maxBytes {
			break
		}
		delete(h, k)
	}
	return m
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
