package logship

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/resilience"
)

// Option configures a Shipper, overriding a default. A bad value makes
// NewShipper fail with an error wrapping ErrInvalid that names it.
type Option func(*options) error

// QueuePolicy says what submitting a record does when the Shipper's queue
// is full: Block (up to a deadline), DropNewest or DropOldest.
type QueuePolicy struct {
	kind queueKind
	wait time.Duration // Block's deadline
}

type queueKind int

const (
	dropNewest queueKind = iota
	dropOldest
	block
)

// The queue policies that do not wait. A dropped record is counted
// (logship.shipper.dropped) and reported to the error handler.
var (
	// DropNewest drops the record being submitted: what is queued keeps
	// its place. It is the default.
	DropNewest = QueuePolicy{kind: dropNewest}
	// DropOldest drops the oldest queued records until the new one fits:
	// the newest logs are usually the ones wanted after an outage. It
	// cannot be combined with WithBuffer, whose records on disk were
	// promised delivery once submitted.
	DropOldest = QueuePolicy{kind: dropOldest}
)

// Block returns the policy that makes the logging call wait up to d for
// room in the queue (or until its context ends), then drop the record,
// counted. Backpressure on the caller, bounded: a logging call never hangs
// on a sink that stays down.
func Block(d time.Duration) QueuePolicy { return QueuePolicy{kind: block, wait: d} }

// String names the policy as it is written in Go: "DropNewest",
// "DropOldest" or "Block(1s)", as error messages and logs show it.
func (p QueuePolicy) String() string {
	switch p.kind {
	case dropNewest:
		return "DropNewest"
	case dropOldest:
		return "DropOldest"
	}
	return fmt.Sprintf("Block(%v)", p.wait)
}

// SyncPolicy says when records appended to the disk buffer are fsynced.
type SyncPolicy int

// The sync policies of WithBufferSync.
const (
	// SyncInterval fsyncs the buffer at most every interval (default
	// 200ms): a process crash (SIGKILL, a panic, OOM kill) loses nothing
	// submitted; a power loss or kernel crash loses at most the records
	// of the last interval. It is the default.
	SyncInterval SyncPolicy = iota
	// SyncAlways fsyncs before submit returns: nothing submitted is lost
	// even to a power loss, at the price of an fsync per record (a
	// millisecond or more on most disks).
	SyncAlways
	// SyncNever leaves it to the operating system: like SyncInterval for
	// a process crash, and a power loss may cost up to what the kernel
	// had not yet written back (typically 30s).
	SyncNever
)

type options struct {
	batchCount    int
	batchBytes    int
	batchInterval time.Duration
	queueSize     int
	queueBytes    int
	policy        QueuePolicy
	retry         resilience.RetryPolicy
	deadLetter    Sink
	bufferDir     string
	bufferSync    SyncPolicy
	syncInterval  time.Duration
	bufferMax     int64
	logger        *slog.Logger
	meter         metric.MeterProvider
	onError       func(error)

	// tick, set by tests only, replaces the batch interval's timer: a
	// send on it flushes what is queued.
	tick <-chan time.Time
	// retryWait, set by tests only, replaces the sleep between retries.
	retryWait func(context.Context, time.Duration)
}

func defaultOptions() options {
	return options{
		batchCount:    500,
		batchBytes:    5 << 20,
		batchInterval: time.Second,
		queueSize:     10_000,
		queueBytes:    16 << 20,
		policy:        DropNewest,
		bufferSync:    SyncInterval,
		syncInterval:  200 * time.Millisecond,
		bufferMax:     1 << 30,
	}
}

// validate checks what no single option can: how options relate.
func (o *options) validate() error {
	if o.bufferDir != "" && o.policy.kind == dropOldest {
		return fmt.Errorf("%w: WithQueue(DropOldest) with WithBuffer: records on disk were promised delivery; use DropNewest or Block", ErrInvalid)
	}
	if o.bufferDir == "" && o.batchCount > o.queueSize {
		return fmt.Errorf("%w: WithBatch count %d is over the queue size %d (WithQueue)", ErrInvalid, o.batchCount, o.queueSize)
	}
	return nil
}

func (o *options) walOptions() *wal.Options {
	w := &wal.Options{MaxBytes: o.bufferMax, SyncInterval: o.syncInterval}
	switch o.bufferSync {
	case SyncAlways:
		w.Sync = wal.SyncAlways
	case SyncNever:
		w.Sync = wal.SyncNever
	default:
		w.Sync = wal.SyncInterval
	}
	return w
}

// WithBatch sets when a batch is written to the sink: once count records
// or bytes bytes of JSON are waiting, or interval after the Shipper's
// goroutine found the first of them waiting, whichever comes first — overriding the default of
// 500 records, 5 MiB, 1s. A single record larger than bytes is written in
// a batch of its own.
func WithBatch(count int, bytes int, interval time.Duration) Option {
	return func(o *options) error {
		switch {
		case count < 1:
			return fmt.Errorf("%w: WithBatch count %d: want at least 1", ErrInvalid, count)
		case bytes < 1:
			return fmt.Errorf("%w: WithBatch bytes %d: want at least 1", ErrInvalid, bytes)
		case interval <= 0:
			return fmt.Errorf("%w: WithBatch interval %v: want a positive duration", ErrInvalid, interval)
		}
		o.batchCount, o.batchBytes, o.batchInterval = count, bytes, interval
		return nil
	}
}

// WithQueue bounds the in-memory queue to size records and sets what
// happens when it is full, overriding the default of 10,000 records and
// DropNewest. The queue is bounded in bytes too (WithQueueBytes). With
// WithBuffer the queue is the disk buffer: size is not applied, the bound
// is WithBufferMaxBytes, and DropOldest is refused.
func WithQueue(size int, policy QueuePolicy) Option {
	return func(o *options) error {
		if size < 1 {
			return fmt.Errorf("%w: WithQueue size %d: want at least 1", ErrInvalid, size)
		}
		if policy.kind == block && policy.wait <= 0 {
			return fmt.Errorf("%w: WithQueue policy Block(%v): want a positive deadline", ErrInvalid, policy.wait)
		}
		if policy.kind < dropNewest || policy.kind > block {
			return fmt.Errorf("%w: WithQueue: unknown policy", ErrInvalid)
		}
		o.queueSize, o.policy = size, policy
		return nil
	}
}

// WithQueueBytes bounds the JSON bytes the in-memory queue holds,
// overriding the default of 16 MiB, so that memory stays bounded however
// large the records are (fluent-bit #2878). A record larger than n is
// dropped, counted with reason "too_large". Not applied with WithBuffer.
func WithQueueBytes(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: WithQueueBytes(%d): want a positive size", ErrInvalid, n)
		}
		o.queueBytes = n
		return nil
	}
}

// WithRetry sets how failed writes are retried, overriding the default
// resilience.RetryPolicy (5 attempts, 50ms doubling to 5s, 30s at most).
// Attempts count failures of a record, its first write included. Without
// WithBuffer a record that used them up, or MaxElapsedTime, is dropped,
// counted with reason "retries_exhausted" (or, when the sink refused that
// record itself, dead-lettered). With WithBuffer a sink that fails whole
// requests is retried without end, the records waiting on disk; a record
// the sink itself keeps refusing is dead-lettered all the same. One of
// MaxAttempts and MaxElapsedTime must be bounded.
func WithRetry(p resilience.RetryPolicy) Option {
	return func(o *options) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithRetry: %v", ErrInvalid, err)
		}
		if p.MaxAttempts < 0 && p.MaxElapsedTime < 0 {
			// A record the sink keeps refusing would be retried for
			// ever, holding up every record behind it.
			return fmt.Errorf("%w: WithRetry: MaxAttempts and MaxElapsedTime are both unbounded: bound one", ErrInvalid)
		}
		o.retry = p
		return nil
	}
}

// WithDeadLetter sends the records the sink refuses for good (and those
// it kept refusing until the retries ran out) to sink, with the reason in
// the record's JSON (DeadLetterField), overriding the default of
// logging and counting them (reason "permanent") and dropping them. The
// Shipper closes sink at Shutdown.
func WithDeadLetter(sink Sink) Option {
	return func(o *options) error {
		if sink == nil {
			return fmt.Errorf("%w: WithDeadLetter: nil sink", ErrInvalid)
		}
		o.deadLetter = sink
		return nil
	}
}

// WithBuffer keeps every record in a crash-safe buffer in dir before
// submit returns, replays it after a restart and removes it only once the
// sink accepted it (or it was dead-lettered), overriding the default of
// an in-memory queue that a crash loses. Files are reached only through an
// os.Root on dir; records that cannot be read back go to dir/quarantine.
// See "Shipping" in the package doc.
func WithBuffer(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return fmt.Errorf("%w: WithBuffer: empty directory", ErrInvalid)
		}
		o.bufferDir = dir
		return nil
	}
}

// WithBufferSync sets when the disk buffer is fsynced, overriding the
// default of SyncInterval every 200ms; interval is used by SyncInterval
// only (0 keeps 200ms). See SyncPolicy for what a crash can cost.
func WithBufferSync(p SyncPolicy, interval time.Duration) Option {
	return func(o *options) error {
		if p < SyncInterval || p > SyncNever {
			return fmt.Errorf("%w: WithBufferSync: unknown policy %d", ErrInvalid, p)
		}
		if interval < 0 {
			return fmt.Errorf("%w: WithBufferSync interval %v: negative", ErrInvalid, interval)
		}
		o.bufferSync = p
		if interval > 0 {
			o.syncInterval = interval
		}
		return nil
	}
}

// WithBufferMaxBytes caps the disk buffer's size, overriding the default
// of 1 GiB. When it is full the queue policy applies (DropNewest drops,
// Block waits for the sink to take records). Delivered records are
// reclaimed a segment (an eighth of the cap, at most 8 MiB) at a time.
// A record larger than the whole cap is dropped at once, counted with
// reason "too_large".
func WithBufferMaxBytes(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: WithBufferMaxBytes(%d): want a positive size", ErrInvalid, n)
		}
		o.bufferMax = n
		return nil
	}
}

// WithLogger sets the logger the Shipper reports its own trouble to (a
// sink down, a record refused for good, a damaged buffer), overriding the
// default slog.Default(). Never give it a Handler of the same Shipper: a
// report about a full queue would queue another record.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithMeterProvider sets where the Shipper's metrics go, overriding the
// default otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: WithMeterProvider: nil provider", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// WithErrorHandler calls fn with every record the Shipper gives up (an
// error wrapping ErrDropped or ErrClosed, naming the reason and the
// record's ID), overriding the default of only counting them. fn runs on
// the logging call's goroutine or the Shipper's; it must be quick and must
// not log through the same Shipper.
func WithErrorHandler(fn func(error)) Option {
	return func(o *options) error {
		if fn == nil {
			return fmt.Errorf("%w: WithErrorHandler: nil func", ErrInvalid)
		}
		o.onError = fn
		return nil
	}
}

func (o *options) finish() {
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.meter == nil {
		o.meter = otel.GetMeterProvider()
	}
}
