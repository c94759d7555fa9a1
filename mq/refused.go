package mq

import (
	"context"
	"fmt"
	"maps"

	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// dlqSuffix names a topic's dead-letter topic, as Subscribe's default
// does: the outage buffer cannot know a subscription's choice.
const dlqSuffix = ".dlq"

// maxReasonBytes bounds the error text carried in a dead letter's header
// or a quarantine entry: a broker's error can be long, and a dead letter
// that the header pushes over the broker's limit would be refused too.
const maxReasonBytes = 1024

func truncateReason(s string) string {
	if len(s) <= maxReasonBytes {
		return s
	}
	// Cut on a rune boundary: header values must stay valid UTF-8.
	cut := maxReasonBytes - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// deadLetter sends m, which the broker refused for good with cause, to
// "<topic>.dlq", with HeaderDLQError and HeaderDLQTopic set (and no
// HeaderDLQGroup: no consumer gave up on it). When the broker refuses that
// too, m goes to the quarantine file beside the buffer. It returns only
// transient errors, so that the caller keeps m in the buffer and tries
// again later.
func (b *outageBuffer) deadLetter(ctx context.Context, m driver.Message, cause error) error {
	reason := truncateReason(cause.Error())
	dl := m
	dl.Topic = m.Topic + dlqSuffix
	dl.Headers = make(map[string]string, len(m.Headers)+2)
	maps.Copy(dl.Headers, m.Headers)
	dl.Headers[HeaderDLQError] = reason
	dl.Headers[HeaderDLQTopic] = m.Topic
	err := b.publish(ctx, []driver.Message{dl})
	if err == nil {
		b.refusals.dlq.add(1)
		b.c.opts.logger.Error("mq: broker refused a buffered message; sent it to the dead-letter topic",
			"provider", b.c.provider, "topic", m.Topic, "id", m.ID, "dead_letter_topic", dl.Topic, "err", reason)
		return nil
	}
	if !b.refused(ctx, err) {
		return err
	}
	reason = truncateReason(fmt.Sprintf("%s; dead-letter topic %s refused it too: %v", reason, dl.Topic, err))
	if err := b.q.add(quarantineEntry{msg: &m, reason: reason}); err != nil {
		return err
	}
	b.afterQuarantine()
	b.refusals.quarantined.add(1)
	b.c.opts.logger.Error("mq: broker refused a buffered message and its dead-letter topic; quarantined it",
		"provider", b.c.provider, "topic", m.Topic, "id", m.ID, "quarantine", b.q.dir(), "err", reason)
	return nil
}

// quarantineRecord keeps a buffered record that does not decode (damaged
// on disk, or written by an unknown version) in the quarantine as raw
// bytes: it can never be sent, and must not hold up the records after it.
func (b *outageBuffer) quarantineRecord(r *badRecord) error {
	reason := fmt.Sprintf("buffered record %d does not decode: %v", r.pos, r.err)
	if err := b.q.add(quarantineEntry{raw: r.data, reason: reason}); err != nil {
		return err
	}
	b.afterQuarantine()
	b.refusals.quarantined.add(1)
	b.c.opts.logger.Error("mq: outage buffer record does not decode; quarantined its bytes",
		"provider", b.c.provider, "quarantine", b.q.dir(), "err", reason)
	return nil
}

// quarantineDamage keeps the bytes of a damaged part of the buffer in the
// quarantine, then gives the records in it up: they cannot be read, so
// the bytes are all that can be saved for someone to look at, and the
// records behind them can be sent.
func (b *outageBuffer) quarantineDamage(d *wal.DamageError) error {
	raw, last, err := b.w.Damaged(d)
	if err != nil {
		return fmt.Errorf("%w: %w", errBufferWrite, err)
	}
	reason := fmt.Sprintf("outage buffer damaged: %v; publishes up to position %d given up", d, last)
	if err := b.q.add(quarantineEntry{raw: raw, reason: reason}); err != nil {
		return err
	}
	b.afterQuarantine()
	if err := b.w.Ack(last); err != nil {
		return err
	}
	b.refusals.quarantined.add(1)
	b.c.opts.logger.Error("mq: outage buffer damaged; quarantined the unreadable bytes and gave up the publishes in them",
		"provider", b.c.provider, "quarantine", b.q.dir(), "err", reason)
	return nil
}

// testHookQuarantined, when set (by tests only, before the Client is
// made), runs after an entry is durably in the quarantine and before the
// buffer record is acknowledged: the window a crash-safety test stops in.
var testHookQuarantined func()

func (b *outageBuffer) afterQuarantine() {
	if testHookQuarantined != nil {
		testHookQuarantined()
	}
}
