// Package batcher hands items from hot paths to a background writer in
// batches: a bounded queue that never blocks the caller (a full queue
// drops and counts), a flush at Size items or every Interval, retries with
// backoff (internal/retrying), and bad batches split until the bad item is
// found, so that one bad item neither stalls the queue nor takes its
// neighbours down with it. privilege's audit sinks are built on it.
package batcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/resilience"
)

// Options tunes a Batcher. The zero value of a field takes its default.
type Options struct {
	Size     int           // items per batch; a full batch is flushed at once. Default 500.
	Interval time.Duration // what is queued is flushed at least this often. Default 1s.
	Queue    int           // items waiting, at most, besides the batch being written; more are dropped. Default 10,000; at least Size.
	Retry    resilience.RetryPolicy
	Logger   *slog.Logger         // default slog.Default()
	Meter    metric.MeterProvider // required (callers default it to the global)

	// Tick, when set, replaces the Interval ticker: tests flush by
	// sending on it.
	Tick <-chan time.Time
	// OnAttempt, when set, is called after each write attempt with the
	// batch's size and the attempt's error (tests wait on it).
	OnAttempt func(n int, err error)
}

// Validate reports a bad option.
func (o *Options) Validate() error {
	if o.Size < 0 || o.Interval < 0 || o.Queue < 0 {
		return fmt.Errorf("batch size %d, interval %v, queue %d: negative", o.Size, o.Interval, o.Queue)
	}
	if o.Queue > 0 && o.Queue < max(o.Size, 1) {
		return fmt.Errorf("queue %d is smaller than a batch (%d)", o.Queue, o.Size)
	}
	return o.Retry.Validate()
}

func (o *Options) defaults() {
	if o.Size == 0 {
		o.Size = 500
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Queue == 0 {
		o.Queue = max(10_000, o.Size)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Batch is what a flush function writes. ID is random, and the same for
// every attempt at the batch (a split half gets a new one): a writer
// whose attempt may have landed without its knowing (the connection died
// before the acknowledgement) looks for it on the next attempt.
type Batch[T any] struct {
	ID      uint64
	Attempt int // 1 for the first
	Items   []T
}

// errBadBatch marks an error as caused by the batch's content.
type errBadBatch struct{ err error }

func (e errBadBatch) Error() string { return e.err.Error() }
func (e errBadBatch) Unwrap() error { return e.err }

// BadBatch marks err, returned by a flush function, as caused by some item
// of the batch (a row the database refuses, a message too large): it is
// not retried; the batch is split in halves, written one after the other,
// down to the item, which alone is given up.
func BadBatch(err error) error { return errBadBatch{err} }

// Permanent marks err as not worth retrying: the batch is given up.
func Permanent(err error) error { return retrying.Permanent(err) }

// Names name a Batcher's metrics and log lines.
type Names struct {
	Instrumentation string // the meter's name
	Metric          string // counters are Metric+".dropped", ".failed", ".written"
	Sink            string // the "sink" attribute of the counters, and in logs
}

// Batcher queues items and writes them in batches from one goroutine,
// in the order they were added.
type Batcher[T any] struct {
	o     Options
	names Names
	flush func(context.Context, Batch[T]) error

	mu     sync.Mutex
	queue  []T
	closed bool

	wake  chan struct{} // a batch is full; capacity 1
	stop  chan struct{} // closed by the first Shutdown
	done  chan struct{} // closed when the writer has returned
	abort context.CancelFunc

	dropped, failed, written atomic.Int64
	burst                    atomic.Int64 // drops not logged yet
	lost                     atomic.Int64 // failed while shutting down
	lastErr                  atomic.Pointer[error]
	reg                      metric.Registration
	unreg                    sync.Once
}

// New starts a Batcher writing with flush, which must honour its context.
func New[T any](names Names, o Options, flush func(context.Context, Batch[T]) error) (*Batcher[T], error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher[T]{
		o: o, names: names, flush: flush,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		abort: cancel,
	}
	b.register()
	go b.run(ctx)
	return b, nil
}

// Add queues v, or drops it and counts the drop when the queue is full or
// the Batcher is shut down. It never blocks on I/O.
func (b *Batcher[T]) Add(v T) {
	b.mu.Lock()
	if b.closed || len(b.queue) >= b.o.Queue {
		b.mu.Unlock()
		b.dropped.Add(1)
		b.burst.Add(1)
		return
	}
	b.queue = append(b.queue, v)
	full := len(b.queue) >= b.o.Size
	b.mu.Unlock()
	if full {
		select {
		case b.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// Shutdown stops accepting items, writes what is queued and returns once
// the writer has stopped. When ctx ends first, the write in progress is
// abandoned, what was left is counted as failed and ctx's error returned.
// It returns an error, too, when items queued before it could not be
// written. It is idempotent.
func (b *Batcher[T]) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	first := !b.closed
	b.closed = true
	b.mu.Unlock()
	if first {
		close(b.stop)
	}
	var err error
	select {
	case <-b.done:
	case <-ctx.Done():
		b.abort()
		<-b.done
		err = ctx.Err()
	}
	b.unreg.Do(func() {
		if b.reg != nil {
			_ = b.reg.Unregister()
		}
	})
	b.abort()
	if err != nil {
		return err
	}
	if n := b.lost.Load(); n > 0 {
		if p := b.lastErr.Load(); p != nil {
			return fmt.Errorf("%d items not written: %w", n, *p)
		}
		return fmt.Errorf("%d items not written", n)
	}
	return nil
}

// run is the writer: it flushes on a full batch, on the ticker, and at
// Shutdown.
func (b *Batcher[T]) run(ctx context.Context) {
	defer close(b.done)
	tick := b.o.Tick
	if tick == nil {
		t := time.NewTicker(b.o.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-b.wake:
		case <-tick:
		case <-b.stop:
			// closed is set: nothing is added any more, one take is all.
			b.drain(ctx)
			b.logDrops()
			return
		}
		b.drain(ctx)
	}
}

// drain writes what is queued, a batch at a time, until the queue is
// empty. It takes one batch at a time, not the whole queue, so that what
// the Batcher holds (the queue and the batch being written) stays within
// Queue + Size while a write is slow.
func (b *Batcher[T]) drain(ctx context.Context) {
	for {
		items := b.take()
		if len(items) == 0 {
			return
		}
		if ctx.Err() != nil { // Shutdown gave up: count, do not try
			b.fail(items, ctx.Err())
			continue
		}
		b.write(ctx, items)
	}
}

// take removes up to Size items from the head of the queue.
func (b *Batcher[T]) take() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.queue), b.o.Size)
	items := b.queue[:n:n]
	b.queue = b.queue[n:]
	if len(b.queue) == 0 {
		b.queue = nil // let the array go
	}
	return items
}

// write writes one batch with retries; a bad batch is split.
func (b *Batcher[T]) write(ctx context.Context, items []T) {
	bt := Batch[T]{ID: rand.Uint64(), Items: items}
	err := retrying.Do(ctx, b.o.Retry, nil, func(ctx context.Context) error {
		b.logDrops() // the queue may fill while a write is failing
		bt.Attempt++
		err := b.flush(ctx, bt)
		if b.o.OnAttempt != nil {
			b.o.OnAttempt(len(items), err)
		}
		var bad errBadBatch
		if errors.As(err, &bad) {
			return retrying.Permanent(err)
		}
		return err
	})
	var bad errBadBatch
	switch {
	case err == nil:
		b.written.Add(int64(len(items)))
	case errors.As(err, &bad) && len(items) > 1 && ctx.Err() == nil:
		half := len(items) / 2
		b.write(ctx, items[:half])
		b.write(ctx, items[half:])
	default:
		b.fail(items, err)
	}
}

// fail counts items given up. Once Shutdown has begun, every item given
// up was queued before it (Add refuses the rest), so it is also counted
// as lost for Shutdown's error, whether the write began before Shutdown
// or after.
func (b *Batcher[T]) fail(items []T, err error) {
	b.failed.Add(int64(len(items)))
	if b.shuttingDown() {
		b.lost.Add(int64(len(items)))
		b.lastErr.Store(&err)
	}
	b.o.Logger.Warn("audit batch not written", "sink", b.names.Sink, "items", len(items), "error", err)
}

func (b *Batcher[T]) shuttingDown() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// logDrops logs the drops since the last call, if any: one line per
// burst, from the writer, never from Add.
func (b *Batcher[T]) logDrops() {
	if n := b.burst.Swap(0); n > 0 {
		b.o.Logger.Warn("audit queue full: events dropped", "sink", b.names.Sink, "dropped", n, "queue", b.o.Queue)
	}
}

// register reads the counters at collection time, as mq/telemetry.go does.
func (b *Batcher[T]) register() {
	if b.o.Meter == nil {
		return
	}
	meter := b.o.Meter.Meter(b.names.Instrumentation)
	opt := metric.WithAttributeSet(attribute.NewSet(attribute.String("sink", b.names.Sink)))
	// Creation fails only for invalid names, and ours are fixed; the API
	// returns usable no-op instruments in any case.
	dropped, _ := meter.Int64ObservableCounter(b.names.Metric+".dropped", metric.WithDescription("Audit events dropped: the queue was full or the sink shut down."))
	failed, _ := meter.Int64ObservableCounter(b.names.Metric+".failed", metric.WithDescription("Audit events given up after retries, or refused as bad."))
	written, _ := meter.Int64ObservableCounter(b.names.Metric+".written", metric.WithDescription("Audit events written by the sink."))
	b.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(dropped, b.dropped.Load(), opt)
		ob.ObserveInt64(failed, b.failed.Load(), opt)
		ob.ObserveInt64(written, b.written.Load(), opt)
		return nil
	}, dropped, failed, written)
}

// Counts returns the items dropped, failed and written so far.
func (b *Batcher[T]) Counts() (dropped, failed, written int64) {
	return b.dropped.Load(), b.failed.Load(), b.written.Load()
}
