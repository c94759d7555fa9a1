package logship

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// IndexerOption configures an Indexer, overriding a default.
type IndexerOption func(*indexerOptions) error

type indexerOptions struct {
	index           IndexOptions
	count, bytes    int
	interval        time.Duration
	workers         int
	timeout         time.Duration
	retry           resilience.RetryPolicy
	template        *TemplateOptions
	requireTemplate bool
	subOpts         []mq.SubscribeOption
	logger          *slog.Logger
	meter           metric.MeterProvider
}

func defaultIndexerOptions() indexerOptions {
	return indexerOptions{
		count:    500,
		bytes:    5 << 20,
		interval: time.Second,
		workers:  2,
		timeout:  time.Minute,
		template: &TemplateOptions{},
		logger:   slog.Default(),
		meter:    otel.GetMeterProvider(),
	}
}

// WithIndexerIndex sets where documents go, overriding the default
// IndexOptions{Index: DefaultIndex} (daily indices per service).
func WithIndexerIndex(o IndexOptions) IndexerOption {
	return func(io *indexerOptions) error {
		if _, err := compileIndex(o); err != nil {
			return err
		}
		io.index = o
		return nil
	}
}

// WithIndexerBatch sets when a bulk request is sent: at count documents,
// at bytes of request body, or interval after its first document,
// whichever comes first — overriding the defaults of 500 documents,
// 5 MiB, 1s.
func WithIndexerBatch(count, bytes int, interval time.Duration) IndexerOption {
	return func(o *indexerOptions) error {
		if count < 1 || bytes < 1 || interval <= 0 {
			return fmt.Errorf("%w: WithIndexerBatch(%d, %d, %v): each must be positive", ErrInvalid, count, bytes, interval)
		}
		o.count, o.bytes, o.interval = count, bytes, interval
		return nil
	}
}

// WithIndexerWorkers sets how many bulk requests may be in flight at
// once, overriding the default of 2.
func WithIndexerWorkers(n int) IndexerOption {
	return func(o *indexerOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithIndexerWorkers(%d): want at least 1", ErrInvalid, n)
		}
		o.workers = n
		return nil
	}
}

// WithIndexerRequestTimeout bounds each bulk request, overriding the
// default of one minute: a store that takes a request and never answers
// (stopped, a half-open connection) would otherwise hold a worker — and
// Close — for ever. A request that times out is retried like any other
// whole-request failure; its documents may have been stored, which their
// _ids make harmless.
func WithIndexerRequestTimeout(d time.Duration) IndexerOption {
	return func(o *indexerOptions) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithIndexerRequestTimeout(%v): want a positive duration", ErrInvalid, d)
		}
		o.timeout = d
		return nil
	}
}

// WithIndexerRetry sets how a document the store refused with a
// retryable item status (429, 5xx) is retried in process before its
// message is handed back to mq (which counts an attempt, and
// dead-letters it after the subscription's WithMaxAttempts), overriding
// resilience.RetryPolicy's defaults. Whole requests that fail (the store
// is down or overloaded) are retried with these waits for as long as it
// lasts: an outage holds consumption back, it dead-letters nothing.
// A document's retries end at MaxAttempts or MaxElapsedTime, whichever
// comes first; one of them must be bounded, as for WithRetry: a document
// the store keeps refusing would otherwise hold its message, and a
// consumer slot, for ever.
func WithIndexerRetry(p resilience.RetryPolicy) IndexerOption {
	return func(o *indexerOptions) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithIndexerRetry: %v", ErrInvalid, err)
		}
		if p.MaxAttempts < 0 && p.MaxElapsedTime < 0 {
			return fmt.Errorf("%w: WithIndexerRetry: MaxAttempts and MaxElapsedTime are both unbounded: bound one", ErrInvalid)
		}
		o.retry = p
		return nil
	}
}

// WithIndexerTemplate sets the index template and ILM policy installed at
// Start, overriding the defaults of TemplateOptions; nil installs nothing.
func WithIndexerTemplate(t *TemplateOptions) IndexerOption {
	return func(o *indexerOptions) error {
		if t != nil {
			if err := t.validate(); err != nil {
				return err
			}
			c := *t
			t = &c
		}
		o.template = t
		return nil
	}
}

// WithIndexerRequireTemplate makes Start fail when the store does not
// keep the index template and the ILM policy, overriding the default of
// logging it once and reporting it in Installed.
func WithIndexerRequireTemplate() IndexerOption {
	return func(o *indexerOptions) error {
		o.requireTemplate = true
		return nil
	}
}

// WithIndexerSubscribeOptions adds options to the Indexer's mq
// subscription (WithDeadLetterTopic, WithMaxAttempts, ...). Concurrency
// and prefetch default to what batching needs (count × (workers+1)).
func WithIndexerSubscribeOptions(opts ...mq.SubscribeOption) IndexerOption {
	return func(o *indexerOptions) error {
		o.subOpts = append(o.subOpts, opts...)
		return nil
	}
}

// WithIndexerLogger sets the logger, overriding slog.Default().
func WithIndexerLogger(l *slog.Logger) IndexerOption {
	return func(o *indexerOptions) error {
		if l == nil {
			return fmt.Errorf("%w: WithIndexerLogger(nil)", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithIndexerMeterProvider sets where metrics go, overriding the global
// provider.
func WithIndexerMeterProvider(mp metric.MeterProvider) IndexerOption {
	return func(o *indexerOptions) error {
		if mp == nil {
			return fmt.Errorf("%w: WithIndexerMeterProvider(nil)", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}
