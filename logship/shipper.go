package logship

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/groundwork-go/groundwork/internal/wal"
)

// Shipper takes records from its Handlers and Writers and delivers them to
// a Sink in batches, from one goroutine: a bounded queue (or, with
// WithBuffer, a crash-safe disk buffer) in front, retries and dead letters
// behind. It is safe for concurrent use. See "Shipping" in the package doc.
type Shipper struct {
	sink Sink
	o    options
	q    *queue
	buf  *diskBuffer // nil without WithBuffer
	tel  *shipperTelemetry

	front   frontState // the Handlers' and Writers' shared state (front.go)
	flushes flushState // what Flush waits on (flush.go)

	closed atomic.Bool

	// ctx ends when Shutdown gives up waiting: it aborts the write and
	// the wait in progress. flush, closed by Shutdown, makes the
	// goroutine write what is left without waiting for full batches.
	ctx    context.Context
	cancel context.CancelFunc
	flush  chan struct{}
	done   chan struct{}

	// Shutdown's first step (refuse records, ask for a flush) and its
	// last (close the sinks and the buffer) run once; between them every
	// caller waits on its own context, so that a later Shutdown with a
	// deadline can give up for one without a deadline.
	stopOnce, closeOnce sync.Once
	gaveUp              atomic.Bool // a Shutdown's context ended before the flush did
}

// NewShipper returns a Shipper delivering to sink, and starts its
// goroutine. With WithBuffer, records a previous run left in the buffer
// are delivered first.
func NewShipper(sink Sink, opts ...Option) (*Shipper, error) {
	if sink == nil {
		return nil, fmt.Errorf("%w: nil sink", ErrInvalid)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.finish()
	s := &Shipper{sink: sink, o: o, q: newQueue(&o), flush: make(chan struct{}), done: make(chan struct{})}
	if o.bufferDir != "" {
		b, err := openDiskBuffer(o.bufferDir, o.walOptions())
		if err != nil {
			return nil, err
		}
		s.buf = b
		b.flush = &s.flushes
	}
	s.tel = newShipperTelemetry(o.meter, s.queued, s.bufferBytes)
	s.tel.front, _ = s.registerFrontMetrics(o.meter.Meter(shipperScope))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// queued reports the records waiting for the sink, and their bytes in
// memory, for the metrics.
func (s *Shipper) queued() (int64, int64) {
	if s.buf != nil {
		return int64(s.buf.w.Len()), 0
	}
	n, b := s.q.stats()
	return int64(n), int64(b)
}

func (s *Shipper) bufferBytes() int64 {
	if s.buf == nil {
		return 0
	}
	return s.buf.w.Size()
}

// submit hands one encoded record to the pipeline. r.JSON (and r.ID, when
// it is a view of the same buffer) is borrowed: valid only until submit
// returns, so the pipeline copies what it keeps — that copy is the one
// allocation a record may cost in steady state. submit never blocks on I/O
// longer than the queue policy allows and never fails the caller: a record
// it cannot take is counted (and reported to the error handler), not
// returned as an error, because slog's Handle has no one to return it to.
//
// With WithBuffer the record is in the disk buffer when submit returns
// (durable as the sync policy says); without, it is in the memory queue.
func (s *Shipper) submit(ctx context.Context, r Record) { s.submitAt(ctx, r, -1) }

// submitAt is submit for a record whose ID is r.JSON[idAt:idAt+len(r.ID)]
// (the Handler's event id); idAt < 0 when it is not. The copy then holds
// the id once, inside the document: 36 bytes a record fewer to copy, to
// allocate and to collect.
func (s *Shipper) submitAt(ctx context.Context, r Record, idAt int) {
	if s.closed.Load() {
		s.dropped(reasonClosed, r.ID, 1)
		return
	}
	if s.buf != nil {
		s.submitBuffered(ctx, r)
		return
	}
	reason, ok, evicted, nEvicted := s.q.push(ctx, copyRecord(r, idAt), s.o.policy, s.o.onError != nil)
	if nEvicted > 0 {
		s.tel.dropped[reasonEvicted].Add(int64(nEvicted))
		for _, e := range evicted {
			s.report(reasonEvicted, e.ID, 1)
		}
	}
	if !ok {
		s.dropped(reason, r.ID, 1)
		return
	}
	s.tel.accepted.Add(1)
}

// copyRecord copies r's borrowed bytes, ID and JSON together, into one
// allocation of exactly their size. ID becomes a string view of the copy:
// nothing writes the copy after this, so the view is as immutable as any
// string. When the ID is in the JSON at idAt (checked, not trusted), the
// JSON alone is copied and the ID is a view of its copy.
func copyRecord(r Record, idAt int) Record {
	if idAt >= 0 && len(r.ID) > 0 && idAt <= len(r.JSON)-len(r.ID) && string(r.JSON[idAt:idAt+len(r.ID)]) == r.ID {
		buf := make([]byte, len(r.JSON))
		copy(buf, r.JSON)
		r.ID = unsafe.String(&buf[idAt], len(r.ID))
		r.JSON = buf[:len(buf):len(buf)]
		return r
	}
	buf := make([]byte, len(r.ID)+len(r.JSON))
	n := copy(buf, r.ID)
	copy(buf[n:], r.JSON)
	if n > 0 {
		r.ID = unsafe.String(&buf[0], n)
	}
	r.JSON = buf[n:len(buf):len(buf)]
	return r
}

// submitBuffered appends r to the disk buffer; when the buffer is full it
// drops r (DropNewest) or waits for the goroutine to acknowledge records
// (Block), then drops it.
func (s *Shipper) submitBuffered(ctx context.Context, r Record) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var space <-chan struct{}
		if timer != nil {
			space = s.q.spaceChan() // taken before the attempt: no wake-up is missed
		}
		n, bytes, err := s.buf.append(r)
		if err == nil {
			s.tel.accepted.Add(1)
			if n == 1 || n%int64(s.o.batchCount) == 0 || bytes >= int64(s.o.batchBytes) {
				s.q.signal()
			}
			return
		}
		reason := reasonBufferError
		switch {
		case errors.Is(err, wal.ErrClosed):
			reason = reasonClosed
		case errors.Is(err, wal.ErrTooLarge): // first: it can be ErrFull too, but waiting cannot help
			reason = reasonTooLarge
		case errors.Is(err, wal.ErrFull):
			reason = reasonBufferFull
		default:
			s.o.logger.Error("logship: cannot write the disk buffer; record dropped", "dir", s.buf.dir, "id", r.ID, "err", err)
		}
		if reason != reasonBufferFull || s.o.policy.kind != block || s.closed.Load() {
			s.dropped(reason, r.ID, 1)
			return
		}
		if timer == nil {
			timer = time.NewTimer(s.o.policy.wait)
			continue // once more, holding a channel that the next ack closes
		}
		select {
		case <-space:
		case <-timer.C:
			s.dropped(reasonBlockTimeout, r.ID, 1)
			return
		case <-ctx.Done():
			s.dropped(reasonBlockTimeout, r.ID, 1)
			return
		}
	}
}

// dropped counts n records given up for reason and reports them.
func (s *Shipper) dropped(reason dropReason, id string, n int) {
	if n <= 0 {
		return
	}
	s.tel.dropped[reason].Add(int64(n))
	s.report(reason, id, n)
}

// report tells the error handler, if any, about a record given up.
func (s *Shipper) report(reason dropReason, id string, n int) {
	if s.o.onError == nil {
		return
	}
	sentinel := ErrDropped
	if reason == reasonClosed {
		sentinel = ErrClosed
	}
	if n == 1 && id != "" {
		s.o.onError(fmt.Errorf("%w: %s: record %q", sentinel, reason, id))
		return
	}
	s.o.onError(fmt.Errorf("%w: %s: %d records", sentinel, reason, n))
}

// Shutdown stops taking records, writes what is queued (retrying as
// usual), closes the sink and the dead-letter sink, and stops the
// Shipper's goroutine. When ctx ends first, the write in progress is
// cancelled: records in memory are dropped (counted, reason "shutdown"),
// records in the disk buffer stay there for the next run; a Sink whose
// Write ignores its context holds Shutdown until it returns. It is
// idempotent; afterwards submitted records are dropped, counted with
// reason "closed" and reported as ErrClosed. Concurrent calls all wait for
// the flush, each until its own context ends, which gives up for all.
func (s *Shipper) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.closed.Store(true)
		s.q.close()
		close(s.flush)
	})
	var err error
	if !isDone(s.done) {
		select {
		case <-s.done:
		case <-ctx.Done():
			s.gaveUp.Store(true)
			s.cancel()
			<-s.done
			err = ctx.Err()
		}
		if s.gaveUp.Load() { // by this call or a concurrent one
			left := "records in memory were dropped"
			if s.buf != nil {
				left = fmt.Sprintf("%d records stay in the disk buffer", s.buf.w.Len())
			}
			if err == nil {
				err = errors.New("a concurrent Shutdown's context ended")
			}
			err = fmt.Errorf("logship: shutdown: %s: %w", left, err)
		}
	}
	s.closeOnce.Do(func() {
		s.cancel()
		s.tel.close()
		err = errors.Join(err, safeClose(ctx, s.sink))
		if s.o.deadLetter != nil {
			err = errors.Join(err, safeClose(ctx, s.o.deadLetter))
		}
		if s.buf != nil {
			err = errors.Join(err, s.buf.close())
		}
	})
	return err
}
