package outbox

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/groundwork-go/groundwork/mq"
)

// Enqueue stores msgs in the caller's transaction tx, to be published by
// the relay once tx commits; if tx rolls back, they never are. It first
// gives each message without an ID a UUIDv7, in place, as Publish does:
// that ID is the published message's ID however often the relay retries.
// Then it checks every message as mq.Client.Publish would (and that its
// text is what PostgreSQL stores: valid UTF-8 without NUL); a bad one is
// an ErrInvalid, mq.ErrInvalid or mq.ErrTooLarge error naming it, and
// nothing is stored. A message without a Time gets the current one. The
// trace context of ctx is stored in the message's headers (as Publish
// adds it; the caller's map is not changed), so that the consumer's span
// follows the request that enqueued the message.
//
// For each distinct Key it takes a transaction-scoped advisory lock
// (pg_advisory_xact_lock(int, int): FNV hashes of the table name and the
// key), held
// until tx ends: writers of one key are serialised from their Enqueue to
// their commit, which is what makes publish order per key the commit
// order. Call Enqueue late in the transaction; a transaction that holds
// the key while waiting for a lock another holder of the key's writer
// holds deadlocks, and PostgreSQL aborts one of the two.
func (o *Outbox) Enqueue(ctx context.Context, tx pgx.Tx, msgs ...*mq.Message) error {
	if o.closed.Load() {
		return ErrClosed
	}
	if tx == nil {
		return fmt.Errorf("%w: Enqueue: nil tx", ErrInvalid)
	}
	if len(msgs) == 0 {
		return nil
	}
	// IDs first, as Publish does: they count against the size limit.
	if err := mq.NewIDs(msgs...); err != nil {
		return fmt.Errorf("outbox: enqueue: %w", err)
	}
	now := time.Now()
	// What is stored: the messages with the trace context of ctx (the
	// request writing the rows) in their headers, as Publish would add it;
	// the relay publishes from a context of its own. Copies, so that the
	// caller's header maps are left alone; sized with those headers.
	stored := make([]*mq.Message, len(msgs))
	for i, m := range msgs {
		if m == nil {
			continue // Check names it
		}
		c := *m
		if c.Time.IsZero() {
			c.Time = now
		}
		c.Headers = o.bus.TraceHeaders(ctx, m.Headers)
		stored[i] = &c
	}
	if err := o.bus.Check(stored...); err != nil {
		return fmt.Errorf("outbox: enqueue: %w", err)
	}
	for i, m := range stored {
		if err := checkText(m, i); err != nil {
			return err
		}
	}
	for i, m := range msgs {
		m.Time = stored[i].Time
	}
	b := &pgx.Batch{}
	var keys []int32
	for _, m := range stored {
		if m.Key != "" {
			keys = append(keys, hash32(m.Key))
		}
	}
	// Sorted, so that two Enqueues of the same keys cannot deadlock.
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		b.Queue("SELECT pg_advisory_xact_lock($1::int, $2::int)", o.lockClass, k)
	}
	insert := "INSERT INTO " + o.table + " (partition, id, topic, key, payload, headers, time) VALUES ($1, $2, $3, $4, $5, $6, $7)"
	for _, m := range stored {
		var headers map[string]string
		if len(m.Headers) > 0 {
			headers = m.Headers
		}
		payload := m.Payload
		if payload == nil {
			payload = []byte{}
		}
		b.Queue(insert, o.partition(m), m.ID, m.Topic, m.Key, payload, headers, m.Time)
	}
	b.Queue("SELECT pg_notify($1, '')", o.opts.table)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return wrap("enqueue", err)
	}
	o.tel.enqueued.add(len(msgs))
	return nil
}

// partition is where m goes: by key, so that one key's messages are
// relayed in order by one relay; keyless ones are spread by ID.
func (o *Outbox) partition(m *mq.Message) int {
	k := m.Key
	if k == "" {
		k = m.ID
	}
	return int(uint32(hash32(k)) % uint32(o.opts.partitions))
}

func hash32(s string) int32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32())
}

// checkText refuses text PostgreSQL's text and jsonb types cannot store:
// invalid UTF-8 and NUL.
func checkText(m *mq.Message, i int) error {
	bad := func(field, s string) error {
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
			return nil
		}
		return fmt.Errorf("%w: message %d: %s %q is not UTF-8 text without NUL", ErrInvalid, i, field, s)
	}
	for _, f := range []struct{ name, s string }{{"ID", m.ID}, {"Topic", m.Topic}, {"Key", m.Key}} {
		if err := bad(f.name, f.s); err != nil {
			return err
		}
	}
	for k, v := range m.Headers {
		if err := bad("header name", k); err != nil {
			return err
		}
		if err := bad("header "+k, v); err != nil {
			return err
		}
	}
	return nil
}

// wrap names the operation, leaving context errors as they are.
func wrap(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("outbox: %s: %w", op, err)
}
