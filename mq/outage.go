package mq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/internal/resilience"
	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// outageBuffer holds Publish calls on disk while the broker is unreachable
// and republishes them, oldest first, from a background flusher. Each
// Publish call is one WAL record, so a batch is replayed as it was sent.
type outageBuffer struct {
	c *Client
	w *wal.WAL

	wake   chan struct{}
	ctx    context.Context // cancelled by shutdown: stops the flusher
	cancel context.CancelFunc
	done   chan struct{}
}

// flushBatch bounds how many messages one republish call carries.
const flushBatch = 500

func openOutageBuffer(c *Client, dir string, o wal.Options) (*outageBuffer, error) {
	w, err := wal.Open(dir, &o)
	if err != nil {
		return nil, fmt.Errorf("mq: outage buffer: %w", err)
	}
	b := &outageBuffer{c: c, w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
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
		err := b.c.breaker.Do(func() error { return b.c.conn.Publish(ctx, batch) })
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, resilience.ErrOpen) && !b.c.conn.IsRetryable(err) {
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
		return false, fmt.Errorf("mq: outage buffer: %w", err)
	}
	b.signal()
	return true, nil
}

func (b *outageBuffer) flushLoop() {
	defer close(b.done)
	ctx := b.ctx
	bo := b.c.opts.retry.NewLoopBackOff()
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
			if !failing {
				b.c.opts.logger.Warn("mq: outage buffer cannot republish yet; will retry",
					"provider", b.c.provider, "buffered", b.w.Len(), "err", err)
			}
			failing = true
			wait = time.After(bo.NextBackOff())
		}
	}
}

// flush republishes everything buffered, batch by batch, acknowledging
// each batch in the WAL once the broker took it.
func (b *outageBuffer) flush(ctx context.Context) error {
	for {
		var batch []driver.Message
		var last uint64
		err := b.w.Replay(func(pos uint64, data []byte) error {
			msgs, err := decodeBatch(data)
			if err != nil {
				return fmt.Errorf("mq: outage buffer record %d: %w", pos, err)
			}
			batch = append(batch, msgs...)
			last = pos
			if len(batch) >= flushBatch {
				return wal.ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := b.c.breaker.Do(func() error { return b.c.conn.Publish(ctx, batch) }); err != nil {
			return err
		}
		if err := b.w.Ack(last); err != nil {
			return err
		}
	}
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
	return errors.Join(err, b.w.Close())
}
