package mq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/groundwork-go/groundwork/internal/breaker"
	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// outageBuffer holds Publish calls on disk while the broker is unreachable
// and republishes them, oldest first, from a background flusher. Each
// Publish call is one WAL record, so a batch is replayed as it was sent.
// What the broker refuses for good goes to the dead-letter topic or the
// quarantine beside the buffer (refused.go), so one bad message never
// holds up the ones behind it.
type outageBuffer struct {
	c    *Client
	root *os.Root // the buffer's directory
	w    *wal.WAL
	q    *quarantine

	refusals refusals

	wake   chan struct{}
	ctx    context.Context // cancelled by shutdown: stops the flusher
	cancel context.CancelFunc
	done   chan struct{}
}

// flushBatch bounds how many messages one republish call carries.
const flushBatch = 500

// errBufferWrite marks a failure to write the buffer itself, so that it is
// never taken for the broker refusing a message.
var errBufferWrite = errors.New("mq: outage buffer")

func openOutageBuffer(c *Client, dir string, o wal.Options) (*outageBuffer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mq: outage buffer: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("mq: outage buffer: %w", err)
	}
	w, err := wal.OpenIn(root, ".", &o)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("mq: outage buffer: %w", err)
	}
	q, err := openQuarantine(root)
	if err != nil {
		w.Close()
		root.Close()
		return nil, err
	}
	b := &outageBuffer{c: c, root: root, w: w, q: q, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.registerMetrics()
	if w.Len() > 0 {
		b.signal() // left over from an earlier run
	}
	go b.flushLoop()
	return b, nil
}

func (b *outageBuffer) len() int { return b.w.Len() }

func (b *outageBuffer) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// publish makes one attempt at sending msgs, through the breaker.
func (b *outageBuffer) publish(ctx context.Context, msgs []driver.Message) error {
	return b.c.breaker.Do(func() error { return b.c.conn.Publish(ctx, msgs) })
}

// refused reports whether err is the broker refusing the messages
// themselves, for good: an error the provider does not call retryable,
// and not the context ending, the breaker being open, the client closing
// or the buffer failing to write. Anything else is worth trying again.
func (b *outageBuffer) refused(ctx context.Context, err error) bool {
	switch {
	case err == nil, ctx.Err() != nil,
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, breaker.ErrOpen), errors.Is(err, ErrClosed),
		errors.Is(err, ErrBufferFull), errors.Is(err, errBufferWrite):
		return false
	}
	return !b.c.conn.IsRetryable(err)
}

// publishOrBuffer publishes batch directly when the buffer is empty and the
// broker answers; otherwise it appends batch to the buffer. It reports
// whether the batch was buffered. Errors the broker gives for the batch
// itself (not retryable) are returned, not buffered.
//
// Order: a Publish that starts after another returned sees the earlier one
// either published or still counted in the WAL (records are acknowledged
// only after the broker took them), so it cannot overtake it.
func (b *outageBuffer) publishOrBuffer(ctx context.Context, batch []driver.Message) (bool, error) {
	if b.w.Len() == 0 {
		err := b.publish(ctx, batch)
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, breaker.ErrOpen) && !b.c.conn.IsRetryable(err) {
			return false, err
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	if _, err := b.w.Append(encodeBatch(batch)); err != nil {
		if errors.Is(err, wal.ErrFull) {
			return false, fmt.Errorf("%w: %v", ErrBufferFull, err)
		}
		return false, fmt.Errorf("%w: %w", errBufferWrite, err)
	}
	b.signal()
	return true, nil
}

func (b *outageBuffer) flushLoop() {
	defer close(b.done)
	ctx := b.ctx
	bo := retrying.NewLoopBackOff(b.c.opts.retry)
	var wait <-chan time.Time
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-wait:
		}
		wait = nil
		err := b.flush(ctx)
		switch {
		case err == nil:
			if failing {
				b.c.opts.logger.Info("mq: outage buffer drained", "provider", b.c.provider)
			}
			failing = false
			bo.Reset()
		case ctx.Err() != nil:
			return
		default:
			// Only transient failures get here: what the broker refuses
			// for good is dead-lettered by deliver.
			if !failing {
				b.c.opts.logger.Warn("mq: outage buffer cannot republish yet; will retry",
					"provider", b.c.provider, "buffered", b.w.Len(), "err", err)
			}
			failing = true
			wait = time.After(bo.NextBackOff())
		}
	}
}

// pending is what one pass of the flusher took from the WAL: the messages
// of consecutive records, and where each record ends among them, so that
// records are acknowledged as soon as all their messages are settled.
type pending struct {
	msgs  []driver.Message
	recs  []recordEnd
	acked int // recs[:acked] are acknowledged
}

type recordEnd struct {
	pos uint64 // the record's WAL position
	end int    // index in msgs just past its last message
}

// flush republishes everything buffered, batch by batch, acknowledging
// records in the WAL once the broker took (or dead-lettered) all their
// messages. It returns only transient errors; the caller retries.
func (b *outageBuffer) flush(ctx context.Context) error {
	for {
		p, bad, err := b.next()
		var damage *wal.DamageError
		switch {
		case errors.As(err, &damage):
			// Part of a segment cannot be read: keep its bytes in the
			// quarantine and give the records in it up, or nothing
			// behind them would ever be sent.
			if err := b.quarantineDamage(damage); err != nil {
				return err
			}
		case err != nil:
			return err
		case bad != nil:
			// A record that does not decode can never be sent: keep its
			// bytes in the quarantine and move on.
			if err := b.quarantineRecord(bad); err != nil {
				return err
			}
			if err := b.w.Ack(bad.pos); err != nil {
				return err
			}
		case len(p.recs) == 0:
			return nil
		case len(p.msgs) == 0:
			if err := b.settle(p, 0); err != nil {
				return err
			}
		default:
			if err := b.deliver(ctx, p, 0, len(p.msgs)); err != nil {
				return err
			}
		}
	}
}

// badRecord is a buffered record that does not decode.
type badRecord struct {
	pos  uint64
	data []byte
	err  error
}

// next reads up to flushBatch messages from the oldest records. A record
// that does not decode is returned alone, as bad, and damage the WAL
// reports (a *wal.DamageError) as the error, once the records before
// either are settled.
func (b *outageBuffer) next() (*pending, *badRecord, error) {
	p := &pending{}
	var bad *badRecord
	err := b.w.Replay(func(pos uint64, data []byte) error {
		msgs, err := decodeBatch(data)
		if err != nil {
			if len(p.recs) == 0 {
				bad = &badRecord{pos: pos, data: data, err: err}
			}
			return wal.ErrStop
		}
		p.msgs = append(p.msgs, msgs...)
		p.recs = append(p.recs, recordEnd{pos: pos, end: len(p.msgs)})
		if len(p.msgs) >= flushBatch {
			return wal.ErrStop
		}
		return nil
	})
	if errors.Is(err, wal.ErrCorrupt) && len(p.recs) > 0 {
		err = nil // send what comes before the damage first
	}
	return p, bad, err
}

// deliver publishes p.msgs[lo:hi]. When the broker refuses the batch for
// good, it splits it in halves, down to single messages, so that only the
// messages the broker refuses on their own are dead-lettered; the order
// of the rest is kept. It returns transient errors, leaving what is not
// settled in the WAL for the next attempt (a duplicate at worst).
func (b *outageBuffer) deliver(ctx context.Context, p *pending, lo, hi int) error {
	err := b.publish(ctx, p.msgs[lo:hi])
	switch {
	case err == nil:
	case !b.refused(ctx, err):
		return err
	case hi-lo == 1:
		if err := b.deadLetter(ctx, p.msgs[lo], err); err != nil {
			return err
		}
	default:
		if lo == 0 && hi == len(p.msgs) {
			b.c.opts.logger.Warn("mq: broker refused a batch of buffered messages; sending it in smaller parts",
				"provider", b.c.provider, "messages", hi, "err", err)
		}
		mid := lo + (hi-lo)/2
		if err := b.deliver(ctx, p, lo, mid); err != nil {
			return err
		}
		return b.deliver(ctx, p, mid, hi)
	}
	return b.settle(p, hi)
}

// settle acknowledges the records whose messages all lie below upto.
func (b *outageBuffer) settle(p *pending, upto int) error {
	i := p.acked
	for i < len(p.recs) && p.recs[i].end <= upto {
		i++
	}
	if i == p.acked {
		return nil
	}
	if err := b.w.Ack(p.recs[i-1].pos); err != nil {
		return err
	}
	p.acked = i
	return nil
}

// shutdown waits, if drain is set, until the buffer is empty or ctx ends,
// then stops the flusher and closes the WAL; what is left stays on disk.
func (b *outageBuffer) shutdown(ctx context.Context, drain bool) error {
	var err error
	if drain && b.w.Len() > 0 {
		t := time.NewTicker(10 * time.Millisecond)
		for b.w.Len() > 0 && err == nil {
			select {
			case <-ctx.Done():
				err = fmt.Errorf("mq: shutdown left %d buffered publishes on disk: %w", b.w.Len(), ctx.Err())
			case <-t.C:
			}
		}
		t.Stop()
	}
	b.cancel()
	<-b.done
	b.unregisterMetrics()
	return errors.Join(err, b.w.Close(), b.q.close(), b.root.Close())
}
