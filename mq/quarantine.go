package mq

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// QuarantinedMessage is an entry of the quarantine: a buffered message
// that the broker refused for good, and its dead-letter topic too (see
// WithOutageBuffer).
type QuarantinedMessage struct {
	// Message is the refused message as it was published; nil for an
	// entry holding bytes that are not a message (see Raw).
	Message *Message
	// Reason says why it is here: the broker's answers, as text.
	Reason string
	// Time is when it was quarantined.
	Time time.Time
	// Raw holds the bytes of a buffered record that did not decode, or of
	// a quarantine entry that does not; nil for a message.
	Raw []byte
}

// quarantineDir is the quarantine's directory inside the buffer's.
const quarantineDir = "quarantine"

// quarantine holds what the outage buffer could deliver nowhere, in a WAL
// of its own beside the buffer: every entry is fsynced before the buffer
// record it came from is acknowledged, so a crash in between leaves the
// message in both (redelivered into the quarantine, never lost).
type quarantine struct {
	w    *wal.WAL
	path string     // for logs
	mu   sync.Mutex // one redrive at a time
}

func openQuarantine(root *os.Root) (*quarantine, error) {
	// No cap: when the quarantine cannot take an entry, the buffer
	// record stays, and the buffer stalls behind it.
	w, err := wal.OpenIn(root, quarantineDir, &wal.Options{MaxBytes: -1, Sync: wal.SyncAlways})
	if err != nil {
		return nil, fmt.Errorf("mq: quarantine: %w", err)
	}
	return &quarantine{w: w, path: filepath.Join(root.Name(), quarantineDir)}, nil
}

func (q *quarantine) dir() string { return q.path }

func (q *quarantine) len() int { return q.w.Len() }

func (q *quarantine) close() error { return q.w.Close() }

func (q *quarantine) add(e quarantineEntry) error {
	if _, err := q.w.Append(encodeEntry(e)); err != nil {
		return fmt.Errorf("%w: quarantine: %w", errBufferWrite, err)
	}
	return nil
}

// stored is one quarantine record as read.
type stored struct {
	pos  uint64
	data []byte
}

// read returns up to n records from the oldest.
func (q *quarantine) read(ctx context.Context, n int) ([]stored, error) {
	var out []stored
	err := q.w.Replay(func(pos uint64, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		out = append(out, stored{pos, data})
		if len(out) == n {
			return wal.ErrStop
		}
		return nil
	})
	return out, err
}

func toQuarantined(s stored) QuarantinedMessage {
	e, err := decodeEntry(s.data)
	if err != nil {
		return QuarantinedMessage{Reason: fmt.Sprintf("quarantine entry %d does not decode: %v", s.pos, err), Raw: s.data}
	}
	qm := QuarantinedMessage{Reason: e.reason, Time: e.at, Raw: e.raw}
	if e.msg != nil {
		m := e.msg
		qm.Message = &Message{ID: m.ID, Topic: m.Topic, Key: m.Key, Payload: m.Payload, Headers: m.Headers, Time: m.Time}
	}
	return qm
}

func (q *quarantine) list(ctx context.Context) ([]QuarantinedMessage, error) {
	recs, err := q.read(ctx, -1)
	if err != nil {
		return nil, fmt.Errorf("mq: quarantine: %w", err)
	}
	out := make([]QuarantinedMessage, len(recs))
	for i, s := range recs {
		out[i] = toQuarantined(s)
	}
	return out, nil
}

// redrive hands every entry present when it starts to send, oldest first,
// and removes it once send returned nil. An entry send refuses (refused
// says so of its error), and one that is not a message, is appended again
// at the end, so that it holds up nothing; any other error stops the
// redrive and is returned. Each step appends before it acknowledges: a
// crash leaves an entry twice, never none.
func (q *quarantine) redrive(ctx context.Context, send func(*driver.Message) error, refused func(error) bool) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	sent := 0
	for todo := q.w.Len(); todo > 0; {
		recs, err := q.read(ctx, min(todo, 64))
		if err != nil {
			return sent, fmt.Errorf("mq: quarantine: %w", err)
		}
		if len(recs) == 0 {
			return sent, nil
		}
		for _, s := range recs {
			if err := ctx.Err(); err != nil {
				return sent, err
			}
			keep := s.data
			if e, err := decodeEntry(s.data); err == nil && e.msg != nil {
				err := send(e.msg)
				switch {
				case err == nil:
					keep = nil
					sent++
				case refused(err):
					keep = encodeEntry(quarantineEntry{msg: e.msg, reason: truncateReason(err.Error())})
				default:
					return sent, err
				}
			}
			if keep != nil {
				if _, err := q.w.Append(keep); err != nil {
					return sent, fmt.Errorf("mq: quarantine: %w", err)
				}
			}
			if err := q.w.Ack(s.pos); err != nil {
				return sent, fmt.Errorf("mq: quarantine: %w", err)
			}
			todo--
		}
	}
	return sent, nil
}

// Quarantined lists the quarantine of the outage buffer, oldest first:
// buffered messages that the broker refused for good, and so did their
// dead-letter topic. Without WithOutageBuffer nothing is ever quarantined
// and the list is empty. A damaged entry is listed with its bytes in Raw.
func (c *Client) Quarantined(ctx context.Context) ([]QuarantinedMessage, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	if c.buf == nil {
		return nil, nil
	}
	return c.buf.q.list(ctx)
}

// RedriveQuarantined publishes the quarantined messages again, oldest
// first, as Publish does (so through the outage buffer while it holds
// anything or the broker is unreachable), and removes each one Publish
// accepted. A message the broker refuses again stays, moved to the end with
// the new reason, and so do entries that are not messages. It returns how
// many messages were accepted; on any other error (ctx, ErrBufferFull,
// ErrClosed) it stops, leaving the rest for a later call. Entries
// quarantined while it runs wait for the next call. A crash in the middle
// may publish a message twice, never lose one.
func (c *Client) RedriveQuarantined(ctx context.Context) (int, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	if c.buf == nil {
		return 0, nil
	}
	b := c.buf
	return b.q.redrive(ctx,
		func(m *driver.Message) error { return c.send(ctx, []driver.Message{*m}) },
		func(err error) bool { return b.refused(ctx, err) })
}
