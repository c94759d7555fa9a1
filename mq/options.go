package mq

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/resilience"
)

// Option configures a Client.
type Option func(*clientOptions) error

type clientOptions struct {
	retry      resilience.RetryPolicy
	breaker    resilience.BreakerPolicy
	bufferDir  string
	bufferOpts wal.Options
	dedup      DedupStore
	logger     *slog.Logger
	tracer     trace.TracerProvider
	meter      metric.MeterProvider
	propagator propagation.TextMapPropagator
	lazy       bool
}

func newClientOptions(opts []Option) (*clientOptions, error) {
	o := &clientOptions{
		logger:     slog.Default(),
		tracer:     otel.GetTracerProvider(),
		meter:      otel.GetMeterProvider(),
		propagator: propagation.TraceContext{},
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalid)
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithRetry sets the policy for publishing and acknowledging, overriding
// the default (5 attempts, 50ms doubling to 5s with jitter, 30s at most).
// Only errors the provider reports as retryable are retried.
func WithRetry(p resilience.RetryPolicy) Option {
	return func(o *clientOptions) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithRetry: %v", ErrInvalid, err)
		}
		o.retry = p
		return nil
	}
}

// WithBreaker sets the circuit breaker around broker calls, overriding the
// default (open after 5 consecutive failures, probe after 5s). While open,
// Publish fails fast with ErrCircuitOpen, or goes to the outage buffer.
func WithBreaker(p resilience.BreakerPolicy) Option {
	return func(o *clientOptions) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithBreaker: %v", ErrInvalid, err)
		}
		o.breaker = p
		return nil
	}
}

// WithOutageBuffer makes Publish write messages to a crash-safe disk
// buffer in dir, instead of failing, while the broker is unreachable or the
// breaker open, overriding the default of no buffer. A background flusher
// republishes them in order once the broker answers; messages published
// while the buffer holds anything go through it too, so per-key order is
// kept. Every buffered Publish is fsynced before it returns. What is still
// buffered when the Client closes is sent by the next Client opened on dir.
// One directory serves one Client at a time. A buffered message the broker
// refuses for good goes to "<topic>.dlq", or, if that is refused too, to
// the quarantine in dir/quarantine (see the package doc and
// Client.Quarantined); it never holds up the messages behind it. Files are
// reached only through an os.Root on dir. Open still fails while the
// broker is down unless WithLazyConnect is given too.
func WithOutageBuffer(dir string) Option {
	return func(o *clientOptions) error {
		if dir == "" {
			return fmt.Errorf("%w: WithOutageBuffer: empty directory", ErrInvalid)
		}
		o.bufferDir = dir
		return nil
	}
}

// WithLazyConnect makes Open return without checking that the broker
// answers, overriding the default of checking it (one ping within Open's
// context). It is for services that must start while the broker may be
// down: with WithOutageBuffer, Publish then buffers until the broker is
// back; without one, calls fail with ErrUnreachable, after the retry
// policy, until it is. NewClient never checks.
func WithLazyConnect() Option {
	return func(o *clientOptions) error {
		o.lazy = true
		return nil
	}
}

// WithOutageBufferMaxBytes caps the outage buffer's size on disk,
// overriding the default of 1 GiB. Past it, Publish returns ErrBufferFull
// while the broker is unreachable. Sent records are reclaimed a segment at
// a time, and a segment is an eighth of the cap (at most 8 MiB), so they
// take at most about that much of it. The quarantine is not counted.
func WithOutageBufferMaxBytes(n int64) Option {
	return func(o *clientOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithOutageBufferMaxBytes(%d): want a positive size", ErrInvalid, n)
		}
		o.bufferOpts.MaxBytes = n
		return nil
	}
}

// WithDedup makes every subscription of the Client skip messages whose ID
// its group already handled successfully, as recorded in store, overriding
// the default of no dedup. See NewMemoryDedup and redismq.NewDedup.
func WithDedup(store DedupStore) Option {
	return func(o *clientOptions) error {
		if store == nil {
			return fmt.Errorf("%w: WithDedup: nil store", ErrInvalid)
		}
		o.dedup = store
		return nil
	}
}

// WithLogger sets the logger for background failures (flusher, receive
// loop, acks), overriding the default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *clientOptions) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithTracerProvider sets where spans go, overriding the default, the
// global provider (a no-op until the application installs an SDK).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *clientOptions) error {
		if tp == nil {
			return fmt.Errorf("%w: WithTracerProvider: nil provider", ErrInvalid)
		}
		o.tracer = tp
		return nil
	}
}

// WithMeterProvider sets where metrics go, overriding the default, the
// global provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *clientOptions) error {
		if mp == nil {
			return fmt.Errorf("%w: WithMeterProvider: nil provider", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// WithPropagator sets how trace context is written to and read from
// message headers, overriding the default W3C traceparent propagator.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *clientOptions) error {
		if p == nil {
			return fmt.Errorf("%w: WithPropagator: nil propagator", ErrInvalid)
		}
		o.propagator = p
		return nil
	}
}

// SubscribeOption configures a Subscription.
type SubscribeOption func(*subOptions) error

type subOptions struct {
	concurrency int
	maxAttempts int
	dlqTopic    string
	noDLQ       bool
	prefetch    int
	redelivery  resilience.RetryPolicy
	ephemeral   bool
}

func newSubOptions(topic string, opts []SubscribeOption) (*subOptions, error) {
	o := &subOptions{
		concurrency: 1,
		maxAttempts: 5,
		dlqTopic:    topic + ".dlq",
		redelivery:  resilience.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaxInterval: 10 * time.Second, MaxAttempts: -1, MaxElapsedTime: -1},
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil SubscribeOption", ErrInvalid)
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.prefetch == 0 {
		o.prefetch = max(64, 16*o.concurrency)
	}
	return o, nil
}

// WithConcurrency sets how many handlers run at once, overriding the
// default of 1. Messages with one key still run one at a time, in order.
func WithConcurrency(n int) SubscribeOption {
	return func(o *subOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithConcurrency(%d): want at least 1", ErrInvalid, n)
		}
		o.concurrency = n
		return nil
	}
}

// WithMaxAttempts sets how many times a message is handled before it is
// dead-lettered, overriding the default of 5.
func WithMaxAttempts(n int) SubscribeOption {
	return func(o *subOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxAttempts(%d): want at least 1", ErrInvalid, n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithDeadLetterTopic sets where messages go after their last failed
// attempt, overriding the default "<topic>.dlq". An empty name turns
// dead-lettering off: such a message is then dropped after logging, which
// loses it, so only do that for topics where that is acceptable.
func WithDeadLetterTopic(name string) SubscribeOption {
	return func(o *subOptions) error {
		o.dlqTopic = name
		o.noDLQ = name == ""
		return nil
	}
}

// WithPrefetch bounds how many received messages may be unacknowledged at
// once, overriding the default max(64, 16×concurrency).
func WithPrefetch(n int) SubscribeOption {
	return func(o *subOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithPrefetch(%d): want at least 1", ErrInvalid, n)
		}
		o.prefetch = n
		return nil
	}
}

// WithEphemeralGroup deletes the group from the broker when the
// subscription ends, overriding the default of keeping it (its offsets or
// pending entries) for the next member. For groups made for one
// subscription, such as a per-instance group with a random name; never for
// a group other members share. Subscribe fails with ErrUnsupported when the
// provider cannot delete groups.
func WithEphemeralGroup() SubscribeOption {
	return func(o *subOptions) error {
		o.ephemeral = true
		return nil
	}
}

// WithRedeliveryBackoff sets the waits between attempts of a failing
// message, overriding the default (100ms doubling to 10s, with jitter).
// Its MaxAttempts and MaxElapsedTime are ignored: WithMaxAttempts counts.
func WithRedeliveryBackoff(p resilience.RetryPolicy) SubscribeOption {
	return func(o *subOptions) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithRedeliveryBackoff: %v", ErrInvalid, err)
		}
		o.redelivery = p
		o.redelivery.MaxAttempts, o.redelivery.MaxElapsedTime = -1, -1
		return nil
	}
}
