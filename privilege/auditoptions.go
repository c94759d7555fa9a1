package privilege

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/resilience"
)

// AuditOption configures a batched audit sink: PostgresAudit here, and
// privilege/mqaudit's sink.
type AuditOption func(*batcher.Options) error

// WithAuditBatch overrides the default batching (500 events, or what is
// queued every second, whichever comes first).
func WithAuditBatch(size int, interval time.Duration) AuditOption {
	return func(o *batcher.Options) error {
		if size <= 0 || interval <= 0 {
			return fmt.Errorf("%w: audit batch of %d every %v", ErrInvalid, size, interval)
		}
		o.Size, o.Interval = size, interval
		return nil
	}
}

// WithAuditQueue overrides the default bound on queued events (10,000,
// and at least a batch); an event that finds the queue full is dropped
// and counted (privilege.audit.dropped).
func WithAuditQueue(n int) AuditOption {
	return func(o *batcher.Options) error {
		if n <= 0 {
			return fmt.Errorf("%w: audit queue of %d", ErrInvalid, n)
		}
		o.Queue = n
		return nil
	}
}

// WithAuditRetry overrides the default retry of a failed batch write
// (resilience.RetryPolicy's zero value: 5 attempts, 50ms doubling, 30s at
// most).
func WithAuditRetry(p resilience.RetryPolicy) AuditOption {
	return func(o *batcher.Options) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: audit retry: %v", ErrInvalid, err)
		}
		o.Retry = p
		return nil
	}
}

// WithAuditLogger overrides the default logger (slog.Default()) of drops
// and failed batches.
func WithAuditLogger(l *slog.Logger) AuditOption {
	return func(o *batcher.Options) error {
		if l == nil {
			return fmt.Errorf("%w: nil audit logger", ErrInvalid)
		}
		o.Logger = l
		return nil
	}
}

// WithAuditMeterProvider overrides the default meter provider (the
// global) of the sink's counters.
func WithAuditMeterProvider(mp metric.MeterProvider) AuditOption {
	return func(o *batcher.Options) error {
		if mp == nil {
			return fmt.Errorf("%w: nil meter provider", ErrInvalid)
		}
		o.Meter = mp
		return nil
	}
}
