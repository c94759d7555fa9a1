package logship

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// flushState lets Flush wait for the Shipper's goroutine. Records are
// numbered in the order they enter the queue (or the disk buffer), and the
// goroutine settles them in that order, a batch at a time, so "every
// record before n is settled" is one number, settled, that only grows.
//
// Without a disk buffer the numbers count records pushed and taken from
// the queue: settled is the count taken once the batch taking them is
// settled (records evicted by DropOldest before then are settled too:
// dropped, counted). With one, they are WAL positions: the end of the
// highest appended and of the last acknowledged.
type flushState struct {
	want    atomic.Int64 // the highest target a Flush waits for
	settled atomic.Int64
	end     atomic.Int64 // with a disk buffer: past the last appended position

	mu       sync.Mutex
	progress chan struct{} // closed when settled grows; nil until waited on
}

// Flush waits until every record submitted before the call has been
// delivered, dead-lettered or given up (counted) — with WithBuffer, until
// they are acknowledged in the buffer — or ctx ends (its error is
// returned). It asks the Shipper's goroutine to write at once, without
// waiting for a full batch or the batch interval. Records submitted
// during the call may be written too but are not waited for. With
// WithBuffer, records a previous run left in the buffer are not waited
// for (they are delivered first all the same). After Shutdown it returns
// ErrClosed; when Shutdown ends the goroutine during the call, Flush
// returns nil if the records it waited for were settled, and an error
// wrapping ErrClosed if some stay in the disk buffer.
func (s *Shipper) Flush(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("logship: flush: %w", ErrClosed)
	}
	f := &s.flushes
	target := s.flushTarget()
	for {
		w := f.want.Load()
		if w >= target || f.want.CompareAndSwap(w, target) {
			break
		}
	}
	s.q.signal()
	for {
		ch := f.wait()
		if f.settled.Load() >= target {
			return nil
		}
		select {
		case <-ch:
		case <-s.done:
			if f.settled.Load() >= target || s.buf == nil {
				return nil // in memory: delivered or dropped (counted) by now
			}
			return fmt.Errorf("logship: flush: the Shipper shut down with records in the disk buffer: %w", ErrClosed)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// flushTarget is the number every record submitted so far is below.
func (s *Shipper) flushTarget() int64 {
	if s.buf != nil {
		return s.flushes.end.Load()
	}
	return s.q.pushedCount()
}

// urgent reports whether a Flush waits for records not yet settled.
func (f *flushState) urgent() bool { return f.want.Load() > f.settled.Load() }

// wait returns a channel closed when settled next grows.
func (f *flushState) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.progress == nil {
		f.progress = make(chan struct{})
	}
	return f.progress
}

// settle records that every record below n is settled and wakes the
// Flush calls waiting.
func (f *flushState) settle(n int64) {
	if n <= f.settled.Load() {
		return
	}
	f.settled.Store(n) // only the Shipper's goroutine writes it
	f.mu.Lock()
	if f.progress != nil {
		close(f.progress)
		f.progress = nil
	}
	f.mu.Unlock()
}

// appended notes that WAL position pos was appended (by any caller).
func (f *flushState) appended(pos uint64) {
	n := int64(pos) + 1
	for {
		e := f.end.Load()
		if e >= n || f.end.CompareAndSwap(e, n) {
			return
		}
	}
}
