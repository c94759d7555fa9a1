package logship

import (
	"context"
	"sync"
	"time"
)

// queue is the hand-off between the logging calls and the Shipper's
// goroutine. Without a disk buffer it holds the records, bounded by count
// and by bytes, applying the queue policy when full. With one, the
// records are in the buffer and the queue only carries the signals: ready
// wakes the goroutine, space wakes callers waiting (Block) for room.
type queue struct {
	mu       sync.Mutex
	items    []Record // items[head:] are queued, oldest first
	head     int
	bytes    int
	maxN     int
	maxBytes int
	closed   bool
	space    chan struct{} // closed when room is made; nil until someone waits

	// batchN and batchBytes are the batch thresholds: reaching one wakes
	// the goroutine before the interval is up.
	batchN, batchBytes int

	ready chan struct{} // capacity 1

	// pushed and taken count the records that ever entered and left the
	// queue (taken, evicted or drained), for Flush; under mu.
	pushed, taken int64
}

func newQueue(o *options) *queue {
	return &queue{
		maxN: o.queueSize, maxBytes: o.queueBytes,
		batchN: o.batchCount, batchBytes: o.batchBytes,
		ready: make(chan struct{}, 1),
	}
}

func recordSize(r Record) int { return len(r.ID) + len(r.JSON) }

// signal wakes the Shipper's goroutine; it never blocks.
func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// push queues r, which the queue now owns, under policy. It returns the
// reason it dropped r (ok false), and the records DropOldest evicted to
// make room (only when keepEvicted, for the error handler; otherwise just
// their number).
func (q *queue) push(ctx context.Context, r Record, policy QueuePolicy, keepEvicted bool) (reason dropReason, ok bool, evicted []Record, nEvicted int) {
	size := recordSize(r)
	if size > q.maxBytes {
		return reasonTooLarge, false, nil, 0
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return reasonClosed, false, evicted, nEvicted
		}
		n := len(q.items) - q.head
		if n < q.maxN && q.bytes+size <= q.maxBytes {
			break
		}
		switch policy.kind {
		case dropNewest:
			q.mu.Unlock()
			return reasonQueueFull, false, nil, 0
		case dropOldest:
			old := q.pop()
			nEvicted++
			if keepEvicted {
				evicted = append(evicted, old)
			}
			continue
		}
		// Block: wait for the goroutine to take records, up to the
		// deadline. The timer exists only on this slow path.
		if q.space == nil {
			q.space = make(chan struct{})
		}
		space := q.space
		q.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(policy.wait)
		}
		select {
		case <-space:
		case <-timer.C:
			return reasonBlockTimeout, false, nil, 0
		case <-ctx.Done():
			return reasonBlockTimeout, false, nil, 0
		}
		q.mu.Lock()
	}
	q.items = append(q.items, r)
	q.pushed++
	q.bytes += size
	n := len(q.items) - q.head
	// Wake the goroutine for the first record (to start the interval)
	// and when a batch is full; not for every record.
	wake := n == 1 || n == q.batchN || (q.bytes >= q.batchBytes && q.bytes-size < q.batchBytes)
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return 0, true, evicted, nEvicted
}

// pop removes the oldest record; q.mu is held and the queue not empty.
func (q *queue) pop() Record {
	r := q.items[q.head]
	q.items[q.head] = Record{} // let the copy go
	q.head++
	q.taken++
	q.bytes -= recordSize(r)
	q.compactLocked()
	return r
}

// compactLocked reclaims the slots before head; q.mu is held.
func (q *queue) compactLocked() {
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head > len(q.items)/2 {
		// Compact now and then, so that the slice does not grow for ever
		// under a queue that never empties.
		m := copy(q.items, q.items[q.head:])
		clear(q.items[m:])
		q.items, q.head = q.items[:m], 0
	}
}

// take moves up to maxN records, and up to maxBytes bytes (at least one
// record), into dst.
func (q *queue) take(dst []Record, maxN, maxBytes int) []Record {
	q.mu.Lock()
	// Count what fits first, then move it in one copy: the lock is held
	// for a scan and a memmove, not a pop per record, as the logging
	// calls wait on it.
	bytes, end := 0, q.head
	for end < len(q.items) && len(dst)+end-q.head < maxN {
		size := recordSize(q.items[end])
		if len(dst)+end-q.head > 0 && bytes+size > maxBytes {
			break
		}
		bytes += size
		end++
	}
	dst = append(dst, q.items[q.head:end]...)
	clear(q.items[q.head:end]) // let the copies go with the batch
	q.taken += int64(end - q.head)
	q.head, q.bytes = end, q.bytes-bytes
	q.compactLocked()
	q.freedLocked()
	q.mu.Unlock()
	return dst
}

// drain empties the queue, returning how many records it held.
func (q *queue) drain() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items) - q.head
	q.taken += int64(n)
	clear(q.items)
	q.items, q.head, q.bytes = nil, 0, 0
	return n
}

// freed wakes the callers waiting for room.
func (q *queue) freed() {
	q.mu.Lock()
	q.freedLocked()
	q.mu.Unlock()
}

func (q *queue) freedLocked() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// spaceChan returns a channel closed at the next freed (or close).
func (q *queue) spaceChan() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.space == nil {
		q.space = make(chan struct{})
	}
	return q.space
}

// close refuses further records and wakes every waiting caller.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.freedLocked()
	q.mu.Unlock()
}

// pushedCount and takenCount return the records that ever entered and
// left the queue.
func (q *queue) pushedCount() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed
}

func (q *queue) takenCount() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.taken
}

// stats returns the queued records and bytes.
func (q *queue) stats() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head, q.bytes
}
