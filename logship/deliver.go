package logship

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/internal/wal"
)

// safeWrite calls sink.Write, turning a panic into a Permanent error: a
// Sink is the caller's code, and a panic on a batch is likely to come
// again on the same batch, so it is dead-lettered (or dropped, counted),
// never retried for ever, and the Shipper's goroutine lives on.
func safeWrite(ctx context.Context, sink Sink, batch []Record) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{}, Permanent(fmt.Errorf("logship: sink panicked: %v", p))
		}
	}()
	return sink.Write(ctx, batch)
}

// safeClose calls sink.Close, turning a panic into an error, so that
// Shutdown still closes the other Sink and the disk buffer.
func safeClose(ctx context.Context, sink Sink) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("logship: sink panicked in Close: %v", p)
		}
	}()
	return sink.Close(ctx)
}

// run is the Shipper's goroutine: it takes batches from the queue or the
// buffer and delivers them, one Write at a time, until Shutdown.
func (s *Shipper) run() {
	defer close(s.done)
	var batch []Record
	var d delivery
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for s.waitBatch(timer) {
		if s.buf == nil {
			batch = s.q.take(batch[:0], s.o.batchCount, s.o.batchBytes)
			if !s.deliver(&d, batch) {
				s.dropped(reasonShutdown, "", d.unsettled()+s.q.drain())
				return
			}
			s.flushes.settle(s.q.takenCount())
			clear(batch) // let the copies go
			continue
		}
		if !s.deliverBuffered(&d, &batch) {
			return
		}
	}
	if s.buf == nil {
		if n := s.q.drain(); n > 0 {
			s.dropped(reasonShutdown, "", n)
		}
	}
}

// pending reports what waits for the sink.
func (s *Shipper) pending() (n, bytes int) {
	if s.buf != nil {
		return s.buf.w.Len(), int(s.buf.pending.Load())
	}
	return s.q.stats()
}

// waitBatch waits until a batch is full, its interval is up since its
// first record, or Shutdown asks for a flush. It returns false when the
// goroutine is to stop: Shutdown's flush found nothing left, or
// Shutdown gave up.
func (s *Shipper) waitBatch(timer *time.Timer) bool {
	var tick <-chan time.Time
	defer func() {
		if tick == timer.C {
			timer.Stop()
		}
	}()
	for {
		if s.ctx.Err() != nil {
			return false
		}
		n, bytes := s.pending()
		flushing := isDone(s.flush)
		switch {
		case n > 0 && (flushing || n >= s.o.batchCount || bytes >= s.o.batchBytes || s.flushes.urgent()):
			return true
		case n == 0 && flushing:
			return false
		case n > 0 && tick == nil:
			tick = s.o.tick
			if tick == nil {
				timer.Reset(s.o.batchInterval)
				tick = timer.C
			}
		}
		select {
		case <-s.q.ready:
		case <-tick:
			if n > 0 {
				return true
			}
		case <-s.flushCh(flushing):
		case <-s.ctx.Done():
			return false
		}
	}
}

// flushCh is s.flush until it is closed, then nil, so that a select does
// not spin on it.
func (s *Shipper) flushCh(flushing bool) <-chan struct{} {
	if flushing {
		return nil
	}
	return s.flush
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// deliverBuffered delivers the next batch of the disk buffer and
// acknowledges it, or quarantines what cannot be read. It returns false
// when Shutdown gave up (what is unacknowledged stays on disk).
func (s *Shipper) deliverBuffered(d *delivery, batch *[]Record) bool {
	recs, last, size, bad, err := s.buf.next((*batch)[:0], s.o.batchCount, s.o.batchBytes)
	*batch = recs
	var damage *wal.DamageError
	switch {
	case errors.As(err, &damage):
		n, err := s.buf.quarantineDamage(damage)
		if err != nil {
			return s.bufferTrouble(err)
		}
		s.flushes.settle(int64(damage.First + n))
		s.dropped(reasonQuarantined, "", int(n))
		s.o.logger.Error("logship: disk buffer damaged; quarantined the unreadable bytes and gave up the records in them",
			"quarantine", s.buf.quarantinePath(), "records", n, "err", damage)
	case err != nil:
		return s.bufferTrouble(err)
	case bad != nil:
		if err := s.buf.quarantineRecord(bad); err != nil {
			return s.bufferTrouble(err)
		}
		s.flushes.settle(int64(bad.pos) + 1)
		s.dropped(reasonQuarantined, "", 1)
		s.o.logger.Error("logship: buffered record does not decode; quarantined its bytes",
			"quarantine", s.buf.quarantinePath(), "position", bad.pos, "err", bad.err)
	case len(recs) > 0:
		if !s.deliver(d, recs) {
			return false
		}
		if err := s.buf.ack(last, int64(len(recs)), size); err != nil {
			// The records were delivered: a failed ack costs their
			// redelivery, with the same event ids.
			return s.bufferTrouble(err)
		}
		s.flushes.settle(int64(last) + 1)
		clear(recs)
	}
	s.q.freed()
	return true
}

// bufferTrouble logs a failure of the disk buffer itself and waits a
// moment before the next try; false when Shutdown gave up meanwhile.
func (s *Shipper) bufferTrouble(err error) bool {
	s.o.logger.Error("logship: disk buffer failed; will try again", "dir", s.buf.dir, "err", err)
	return s.sleep(retrying.WithDefaults(s.o.retry).MaxInterval)
}

func (s *Shipper) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// delivery is the scratch space of deliver, kept between batches so that
// a steady stream allocates nothing.
type delivery struct {
	todo, next []int   // indices into the batch still to write
	fails      []int   // failures of each record of the batch
	causes     []error // each record's last item failure, for its dead letter
	sub        []Record
	seen       []bool
	dead       []deadLetter
	left       int // records not settled when deliver gave up
}

func (d *delivery) unsettled() int { return d.left }

type deadLetter struct {
	rec       Record
	reason    error
	attempts  int
	exhausted bool // retryable, but out of attempts
}

// deliver writes batch to the sink until every record is settled:
// delivered, dead-lettered or dropped (counted). Only the records that
// failed are written again, on their own, after a backoff. It returns
// false, with d.left set, when Shutdown gave up before then.
//
// A whole-request failure counts against every record of the request, an
// item failure against that record. Without a disk buffer a record out of
// attempts is dropped ("retries_exhausted") after a whole-request failure
// and dead-lettered after an item failure; with one, whole-request
// failures (the sink is down) are retried without end, the records safe
// on disk, and only item failures count.
func (s *Shipper) deliver(d *delivery, batch []Record) bool {
	p := retrying.WithDefaults(s.o.retry)
	d.todo = d.todo[:0]
	for i := range batch {
		d.todo = append(d.todo, i)
	}
	d.fails = zeroed(d.fails, len(batch))
	d.causes = zeroed(d.causes, len(batch))
	// Whole-request failures (the sink is down) and item failures (the
	// sink refuses these records) wait on backoffs of their own: with a
	// disk buffer the first are retried without end, the second must end
	// when the policy's time is up as when its attempts are.
	var reqBo, itemBo backoff.BackOff
	failing := false
	for len(d.todo) > 0 {
		d.sub = d.sub[:0]
		for _, i := range d.todo {
			d.sub = append(d.sub, batch[i])
		}
		start := time.Now()
		res, err := safeWrite(s.ctx, s.sink, d.sub)
		s.tel.wrote(start, res, err)
		if err != nil && s.ctx.Err() != nil {
			d.left = len(d.todo)
			return false
		}
		d.next, d.dead = d.next[:0], d.dead[:0]
		exhausted := 0
		switch {
		case err != nil && isPermanent(err):
			for _, i := range d.todo {
				d.fails[i]++
				d.dead = append(d.dead, deadLetter{batch[i], err, d.fails[i], false})
			}
		case err != nil:
			if !failing {
				s.o.logger.Warn("logship: sink write failed; will retry", "records", len(d.todo), "err", err)
			}
			failing = true
			for _, i := range d.todo {
				if s.buf == nil {
					d.fails[i]++
					if p.MaxAttempts > 0 && d.fails[i] >= p.MaxAttempts {
						exhausted++
						continue
					}
				}
				d.next = append(d.next, i)
			}
		default:
			if failing {
				s.o.logger.Info("logship: sink writes again")
			}
			failing = false
			delivered := s.sortFailures(d, batch, res, p.MaxAttempts)
			s.tel.delivered.Add(int64(delivered))
		}
		d.todo, d.next = d.next, d.todo
		if exhausted > 0 {
			s.o.logger.Error("logship: retries exhausted; records dropped", "records", exhausted, "err", err)
			s.dropped(reasonRetriesExhausted, "", exhausted)
		}
		if !s.deadLetters(d) {
			d.left = len(d.todo) + len(d.dead)
			return false
		}
		if len(d.todo) == 0 {
			break
		}
		bo := &itemBo
		if err != nil {
			bo = &reqBo
		}
		if *bo == nil {
			if s.buf != nil && err != nil {
				*bo = retrying.NewLoopBackOff(p)
			} else {
				*bo = retrying.NewBackOff(p)
			}
		}
		wait := (*bo).NextBackOff()
		if wait == backoff.Stop && err != nil { // MaxElapsedTime is up
			s.giveUp(d, reasonRetriesExhausted, err)
			continue
		}
		if wait == backoff.Stop { // the same, for records the sink refused
			d.dead = d.dead[:0] // this round's were sent already
			for _, i := range d.todo {
				d.dead = append(d.dead, deadLetter{batch[i], fmt.Errorf("gave up after %d attempts in %v: %w", d.fails[i], p.MaxElapsedTime, d.causes[i]), d.fails[i], true})
			}
			d.todo = d.todo[:0]
			if !s.deadLetters(d) {
				d.left = len(d.dead)
				return false
			}
			continue
		}
		s.tel.retries.Add(int64(len(d.todo)))
		if !s.wait(wait) {
			d.left = len(d.todo)
			return false
		}
	}
	d.left = 0
	return true
}

// giveUp drops (counted) every record still to write after the
// whole-request failure err.
func (s *Shipper) giveUp(d *delivery, reason dropReason, err error) {
	if len(d.todo) == 0 {
		return
	}
	s.o.logger.Error("logship: retries exhausted; records dropped", "records", len(d.todo), "err", err)
	s.dropped(reason, "", len(d.todo))
	d.todo = d.todo[:0]
}

// sortFailures reads a Write's per-record failures: permanent ones, and
// retryable ones out of attempts, go to d.dead; the other retryable ones
// to d.next. A Failure with an index outside the request, or repeated, is
// ignored (logged): its record counts as delivered, as the Sink said of it
// nothing else. It returns how many records were delivered.
func (s *Shipper) sortFailures(d *delivery, batch []Record, res Result, maxAttempts int) int {
	if len(res.Failures) == 0 {
		return len(d.todo)
	}
	d.seen = zeroed(d.seen, len(d.todo))
	failed := 0
	for _, f := range res.Failures {
		if f.Index < 0 || f.Index >= len(d.todo) || d.seen[f.Index] {
			s.o.logger.Error("logship: sink reported a failure for no record of the batch; ignored", "index", f.Index, "batch", len(d.todo), "err", f.Err)
			continue
		}
		d.seen[f.Index] = true
		failed++
		i := d.todo[f.Index]
		d.fails[i]++
		cause := f.Err
		if cause == nil {
			cause = errors.New("refused without a reason")
		}
		switch {
		case !f.Retryable:
			d.dead = append(d.dead, deadLetter{batch[i], cause, d.fails[i], false})
		case maxAttempts > 0 && d.fails[i] >= maxAttempts:
			d.dead = append(d.dead, deadLetter{batch[i], fmt.Errorf("gave up after %d attempts: %w", d.fails[i], cause), d.fails[i], true})
		default:
			d.causes[i] = cause
			d.next = append(d.next, i)
		}
	}
	return len(d.todo) - failed
}

// wait sleeps d, or until Shutdown gives up (false).
func (s *Shipper) wait(d time.Duration) bool {
	if s.o.retryWait != nil {
		s.o.retryWait(s.ctx, d)
		return s.ctx.Err() == nil
	}
	return s.sleep(d)
}

// zeroed returns s resized to n zero values, reusing its array.
func zeroed[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
