package mq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/breaker"
	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Client publishes and subscribes through one provider connection. It is
// safe for concurrent use. Create it with Open or NewClient; end it with
// Close or Shutdown.
type Client struct {
	conn      driver.Conn
	provider  string
	opts      *clientOptions
	tel       *telemetry
	breaker   *breaker.Breaker
	maxBytes  int
	retryable func(error) bool
	buf       *outageBuffer // nil without WithOutageBuffer

	closed atomic.Bool
	mu     sync.Mutex // guards subs, and orders Subscribe against Shutdown
	subs   map[*Subscription]struct{}
}

var producerKind = trace.WithSpanKind(trace.SpanKindProducer)

func newClient(conn driver.Conn, provider string, o *clientOptions) (*Client, error) {
	c := &Client{conn: conn, provider: provider, opts: o, subs: map[*Subscription]struct{}{}}
	c.tel = newTelemetry(o, provider, c.Buffered)
	if l, ok := conn.(driver.SizeLimiter); ok {
		c.maxBytes = l.MaxMessageBytes()
	}
	// An open breaker is not worth retrying: failing fast is its point.
	c.retryable = func(err error) bool { return !errors.Is(err, breaker.ErrOpen) && conn.IsRetryable(err) }
	b, err := breaker.New("mq:"+provider, o.breaker, conn.IsRetryable)
	if err != nil {
		return nil, fmt.Errorf("%w: WithBreaker: %v", ErrInvalid, err)
	}
	c.breaker = b
	if o.bufferDir != "" {
		if c.buf, err = openOutageBuffer(c, o.bufferDir, o.bufferOpts); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Publish sends msgs, in order, and returns nil only once the broker
// acknowledged every one, or, with WithOutageBuffer while the broker is
// unreachable or the breaker open, once they are durably in the buffer. It
// fills each message's empty ID and Time. Without a buffer, an unreachable
// broker gives an error after the retry policy, and ErrCircuitOpen at once
// while the breaker is open. If any message is invalid or too large
// (ErrInvalid, ErrTooLarge), nothing is sent.
func (c *Client) Publish(ctx context.Context, msgs ...*Message) error {
	if c.isClosed() {
		return ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	// A producer span only under a recording parent: a root span per
	// publish is rarely wanted, and costs allocations when tracing is off.
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		ctx, span = c.tel.tracer.Start(ctx, "mq publish", producerKind)
		defer span.End()
	}
	now := time.Now()
	if err := newIDs(msgs, now); err != nil {
		return spanError(span, err)
	}
	batch := make([]driver.Message, len(msgs))
	for i, m := range msgs {
		dm, err := c.prepare(ctx, m, i, now)
		if err != nil {
			return spanError(span, err)
		}
		batch[i] = dm
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.String("messaging.system", c.provider),
			attribute.String("messaging.destination.name", batch[0].Topic),
			attribute.Int("messaging.batch.message_count", len(batch)))
	}
	return spanError(span, c.send(ctx, batch))
}

// send publishes a prepared batch: through the outage buffer when there is
// one, else with retries.
func (c *Client) send(ctx context.Context, batch []driver.Message) error {
	n := len(batch)
	if c.buf != nil {
		buffered, err := c.buf.publishOrBuffer(ctx, batch)
		switch {
		case err != nil:
			c.tel.pubFailed.add(n)
			return wrapOp(c.publishOp(batch), err)
		case buffered:
			c.tel.pubBuffered.add(n)
		default:
			c.tel.pubOK.add(n)
		}
		return nil
	}
	err := retrying.Do(ctx, c.opts.retry, c.retryable, func(ctx context.Context) error {
		return c.breaker.Do(func() error { return c.conn.Publish(ctx, batch) })
	})
	if err != nil {
		c.tel.pubFailed.add(n)
		return wrapOp(c.publishOp(batch), err)
	}
	c.tel.pubOK.add(n)
	return nil
}

// publishOp names a failed publish of batch for its error.
func (c *Client) publishOp(batch []driver.Message) string {
	return fmt.Sprintf("publish to %q via %s", batch[0].Topic, c.provider)
}

func spanError(span trace.Span, err error) error {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// Ping checks that the broker answers within ctx, if the provider can
// tell (ErrUnsupported otherwise); an unreachable broker is
// ErrUnreachable. It asks the broker even while the circuit breaker is
// open, and its answer does not move the breaker: it is a health check.
func (c *Client) Ping(ctx context.Context) error {
	if c.isClosed() {
		return ErrClosed
	}
	p, ok := c.conn.(driver.Pinger)
	if !ok {
		return wrapOp("ping via "+c.provider, ErrUnsupported)
	}
	return wrapOp("ping via "+c.provider, p.Ping(ctx))
}

// Buffered returns how many Publish calls wait in the outage buffer (0
// without one).
func (c *Client) Buffered() int {
	if c.buf == nil {
		return 0
	}
	return c.buf.len()
}

// As sets target to the provider's native client when the types match and
// reports whether it did; each provider's doc lists what it offers. A nil
// target, or a nil pointer, is false.
func (c *Client) As(target any) bool { return !nilTarget(target) && c.conn.As(target) }

// Close closes every Subscription, all at once (waiting for their
// in-flight handlers), then the connection, and returns their errors
// joined. Called from inside a handler, it returns an error wrapping
// ErrInvalid instead of waiting for itself. Unlike Shutdown it does not
// wait for the outage buffer to drain: what is left stays on disk for the
// next Client opened on the same directory. It is idempotent.
func (c *Client) Close() error { return c.shutdown(context.Background(), false) }

// Shutdown closes every Subscription, all at once (waiting for their
// in-flight handlers), waits for the outage buffer to drain, and closes the
// connection. If ctx ends first, handlers still running get their context
// cancelled and are not acknowledged, so their messages are redelivered;
// what is left in the outage buffer stays on disk and is sent by the next
// Client opened on the same directory. It is idempotent; afterwards every
// method returns ErrClosed.
func (c *Client) Shutdown(ctx context.Context) error { return c.shutdown(ctx, true) }

func (c *Client) shutdown(ctx context.Context, drain bool) error {
	c.mu.Lock()
	for s := range c.subs {
		if s.inHandler() {
			c.mu.Unlock()
			return fmt.Errorf("%w: Close of the client called from inside a handler of its subscription to %q, which it would wait for", ErrInvalid, s.topic)
		}
	}
	if c.closed.Swap(true) {
		c.mu.Unlock()
		return nil
	}
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()

	// Subscriptions close in parallel: each waits for its own handlers
	// and its provider's leave (a Redis member releasing its partitions),
	// and none needs another. One after another, a client's Close took
	// the sum of those waits.
	errs := make([]error, len(subs), len(subs)+2)
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() { errs[i] = s.Shutdown(ctx) })
	}
	wg.Wait()
	if c.buf != nil {
		errs = append(errs, c.buf.shutdown(ctx, drain))
	}
	errs = append(errs, c.conn.Close())
	c.tel.close()
	return errors.Join(errs...)
}

func (c *Client) isClosed() bool { return c.closed.Load() }
