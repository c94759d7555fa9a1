package mq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// Subscription is one member of a consumer group, running a Handler. End
// it with Close or Shutdown.
type Subscription struct {
	c            *Client
	topic, group string
	h            Handler
	o            *subOptions
	recv         driver.Receiver

	slots    chan struct{} // one token per running handler (concurrency)
	inflight atomic.Int64  // received and not yet settled (prefetch)
	freed    chan struct{} // signalled when inflight drops

	stopRecv context.CancelFunc
	recvDone chan struct{}
	stopping chan struct{} // closed when shutdown starts

	// work is the context of handlers, acks and dead-lettering; it is
	// cancelled only when a shutdown deadline passes (abandon).
	work      context.Context
	abandon   context.CancelFunc
	abandoned atomic.Bool

	mu   sync.Mutex
	keys map[string][]*driver.Delivery // waiting deliveries of each busy key
	wg   sync.WaitGroup                // running key and message workers

	shutdownOnce sync.Once
	shutdownErr  error
}

var consumerKind = trace.WithSpanKind(trace.SpanKindConsumer)

// Subscribe joins group on topic and runs h for each message the group
// assigns to this member. It returns once the member is live: every message
// published after Subscribe returns reaches the group. ctx bounds the join
// only; the subscription runs until Close. Every group gets every message;
// within a group each message goes to one member.
func (c *Client) Subscribe(ctx context.Context, topic, group string, h Handler, opts ...SubscribeOption) (*Subscription, error) {
	switch {
	case c.isClosed():
		return nil, ErrClosed
	case topic == "":
		return nil, fmt.Errorf("%w: Subscribe: empty topic", ErrInvalid)
	case group == "":
		return nil, fmt.Errorf("%w: Subscribe: empty group", ErrInvalid)
	case h == nil:
		return nil, fmt.Errorf("%w: Subscribe: nil handler", ErrInvalid)
	}
	o, err := newSubOptions(topic, opts)
	if err != nil {
		return nil, err
	}
	if !o.noDLQ && o.dlqTopic == topic {
		return nil, fmt.Errorf("%w: Subscribe: dead-letter topic %q is the topic itself", ErrInvalid, topic)
	}
	var recv driver.Receiver
	err = c.opts.retry.Do(ctx, c.retryable, func(ctx context.Context) error {
		return c.breaker.Do(func() error {
			var err error
			recv, err = c.conn.Subscribe(ctx, topic, group)
			return err
		})
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("mq: subscribe to %q as %q via %s: %w", topic, group, c.provider, err)
	}
	s := &Subscription{
		c: c, topic: topic, group: group, h: h, o: o, recv: recv,
		slots:    make(chan struct{}, o.concurrency),
		freed:    make(chan struct{}, 1),
		recvDone: make(chan struct{}),
		stopping: make(chan struct{}),
		keys:     map[string][]*driver.Delivery{},
	}
	s.work, s.abandon = context.WithCancel(context.WithoutCancel(ctx))
	c.mu.Lock()
	if c.isClosed() {
		c.mu.Unlock()
		s.abandon()
		recv.Close()
		return nil, ErrClosed
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	var recvCtx context.Context
	recvCtx, s.stopRecv = context.WithCancel(context.Background())
	go s.receiveLoop(recvCtx)
	return s, nil
}

// receiveLoop pulls deliveries while there is prefetch room and hands each
// to its key's worker, in the order the broker gave them.
func (s *Subscription) receiveLoop(ctx context.Context) {
	defer close(s.recvDone)
	bo := s.c.opts.retry.NewLoopBackOff()
	failing := false
	for {
		room := int64(s.o.prefetch) - s.inflight.Load()
		if room <= 0 {
			select {
			case <-s.freed:
				continue
			case <-ctx.Done():
				return
			}
		}
		dels, err := s.recv.Receive(ctx, int(room))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				s.c.opts.logger.Warn("mq: receive failed; retrying", "topic", s.topic, "group", s.group, "err", err)
			}
			failing = true
			select {
			case <-time.After(bo.NextBackOff()):
			case <-ctx.Done():
				return
			}
			continue
		}
		if failing {
			s.c.opts.logger.Info("mq: receiving again", "topic", s.topic, "group", s.group)
			failing = false
			bo.Reset()
		}
		s.inflight.Add(int64(len(dels)))
		for _, d := range dels {
			s.dispatch(d)
		}
	}
}

// dispatch runs d now if its key is idle, else queues it behind the
// key's running worker. Keyless messages run on their own.
func (s *Subscription) dispatch(d *driver.Delivery) {
	if d.Key == "" {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.process(d)
		}()
		return
	}
	s.mu.Lock()
	if q, busy := s.keys[d.Key]; busy {
		s.keys[d.Key] = append(q, d)
		s.mu.Unlock()
		return
	}
	s.keys[d.Key] = nil
	s.mu.Unlock()
	s.wg.Add(1)
	go s.runKey(d)
}

// runKey processes d and then every delivery queued behind it for the
// same key, one at a time.
func (s *Subscription) runKey(d *driver.Delivery) {
	defer s.wg.Done()
	key := d.Key
	for {
		s.process(d)
		s.mu.Lock()
		q := s.keys[key]
		if len(q) == 0 {
			delete(s.keys, key)
			s.mu.Unlock()
			return
		}
		d, q[0] = q[0], nil
		s.keys[key] = q[1:]
		s.mu.Unlock()
	}
}

func (s *Subscription) settled() {
	s.inflight.Add(-1)
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

func (s *Subscription) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// process runs the handler for d until it succeeds or the attempts run
// out, then acknowledges d; on shutdown it hands d back instead.
func (s *Subscription) process(d *driver.Delivery) {
	defer s.settled()
	if s.isStopping() {
		s.nack(d)
		return
	}
	tel := s.c.tel
	if store := s.c.opts.dedup; store != nil {
		seen, err := store.Seen(s.work, s.group, d.ID)
		if err != nil {
			s.c.opts.logger.Warn("mq: dedup lookup failed; handling the message", "topic", s.topic, "id", d.ID, "err", err)
		}
		if seen {
			tel.conDedupe.add(1)
			s.ack(d)
			return
		}
	}
	if d.Attempt > s.o.maxAttempts {
		// Delivered more often than allowed without being settled: the
		// members it reached died handling it (a poison message).
		tel.conDLQ.add(1)
		s.deadLetter(d, fmt.Errorf("mq: delivered %d times, over the limit of %d attempts, without being settled", d.Attempt, s.o.maxAttempts), d.Attempt-1)
		return
	}
	var bo backoff.BackOff
	for attempt := max(d.Attempt, 1); ; attempt++ {
		if !s.acquireSlot() {
			s.nack(d)
			return
		}
		err := s.call(d, attempt)
		<-s.slots
		if s.abandoned.Load() {
			return // the broker redelivers it
		}
		if err == nil {
			tel.conOK.add(1)
			if store := s.c.opts.dedup; store != nil {
				if err := store.MarkDone(s.work, s.group, d.ID); err != nil {
					s.c.opts.logger.Warn("mq: dedup mark failed", "topic", s.topic, "id", d.ID, "err", err)
				}
			}
			s.ack(d)
			return
		}
		if attempt >= s.o.maxAttempts {
			tel.conDLQ.add(1)
			s.deadLetter(d, err, attempt)
			return
		}
		tel.conRetry.add(1)
		if bo == nil {
			bo = s.o.redelivery.NewBackOff()
		}
		if !s.sleep(bo.NextBackOff()) {
			s.nack(d)
			return
		}
	}
}

func (s *Subscription) acquireSlot() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.stopping:
		return false
	}
}

// sleep waits d, or less if the subscription stops; it reports whether the
// full wait passed.
func (s *Subscription) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopping:
		return false
	}
}

// call runs the handler once, turning a panic into an error. A message
// that carries a trace context is handled under an "mq process" span that
// continues it; an untraced one gets no span (a root span per message costs
// allocations even when nothing records it).
func (s *Subscription) call(d *driver.Delivery, attempt int) (err error) {
	ctx := s.c.extractTrace(s.work, d.Headers)
	var span trace.Span
	if trace.SpanContextFromContext(ctx).IsValid() {
		ctx, span = s.c.tel.tracer.Start(ctx, "mq process", consumerKind)
		defer span.End()
		if span.IsRecording() {
			span.SetAttributes(attribute.String("messaging.destination.name", s.topic),
				attribute.String("messaging.consumer.group.name", s.group),
				attribute.String("messaging.message.id", d.ID), attribute.Int("mq.attempt", attempt))
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mq: handler panic: %v", r)
		}
		if span != nil {
			spanError(span, err)
		}
	}()
	return s.h(ctx, fromDelivery(d, attempt))
}

// deadLetter publishes d to the dead-letter topic, then acknowledges it.
// Publishing is retried until it succeeds or the subscription stops, in
// which case d is handed back rather than lost.
func (s *Subscription) deadLetter(d *driver.Delivery, cause error, attempts int) {
	if s.o.noDLQ {
		s.c.opts.logger.Error("mq: dropping message after its last attempt (no dead-letter topic)",
			"topic", s.topic, "group", s.group, "id", d.ID, "attempts", attempts, "err", cause)
		s.ack(d)
		return
	}
	h := make(map[string]string, len(d.Headers)+4)
	for k, v := range d.Headers {
		h[k] = v
	}
	h[HeaderDLQError] = cause.Error()
	h[HeaderDLQAttempts] = strconv.Itoa(attempts)
	h[HeaderDLQTopic] = s.topic
	h[HeaderDLQGroup] = s.group
	dlq := []driver.Message{{ID: d.ID, Topic: s.o.dlqTopic, Key: d.Key, Payload: d.Payload, Headers: h, Time: d.Time}}
	p := s.o.redelivery
	for {
		err := s.c.send(s.work, dlq)
		if err == nil {
			s.ack(d)
			return
		}
		s.c.opts.logger.Warn("mq: dead-letter publish failed; retrying", "topic", s.o.dlqTopic, "id", d.ID, "err", err)
		if !s.sleep(p.WithDefaults().InitialInterval) {
			s.nack(d)
			return
		}
	}
}

// ack acknowledges d, retrying transient failures. A failure that remains
// is logged: the message will be redelivered, which at-least-once allows.
func (s *Subscription) ack(d *driver.Delivery) {
	err := s.c.opts.retry.Do(s.work, s.c.conn.IsRetryable, func(ctx context.Context) error {
		return s.recv.Ack(ctx, d)
	})
	if err != nil && !s.abandoned.Load() {
		s.c.opts.logger.Warn("mq: ack failed; the message will be redelivered", "topic", s.topic, "id", d.ID, "err", err)
	}
}

func (s *Subscription) nack(d *driver.Delivery) {
	if s.abandoned.Load() {
		return
	}
	if err := s.recv.Nack(s.work, d); err != nil {
		s.c.opts.logger.Debug("mq: nack failed; the broker redelivers on its own", "topic", s.topic, "id", d.ID, "err", err)
	}
}

// Close stops receiving and waits for in-flight handlers: see Shutdown.
func (s *Subscription) Close() error { return s.Shutdown(context.Background()) }

// Shutdown stops receiving, hands back messages received but not started,
// and waits for running handlers to finish and be acknowledged. If ctx
// ends first, the handlers' context is cancelled and what they were
// handling is left unacknowledged, for the broker to redeliver. The member
// then leaves its group. It is idempotent.
func (s *Subscription) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		close(s.stopping)
		s.stopRecv()
		<-s.recvDone
		idle := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(idle)
		}()
		select {
		case <-idle:
		case <-ctx.Done():
			s.abandoned.Store(true)
			s.shutdownErr = fmt.Errorf("mq: shutdown of %q/%q abandoned running handlers: %w", s.topic, s.group, ctx.Err())
		}
		s.abandon()
		s.shutdownErr = errors.Join(s.shutdownErr, s.recv.Close())
		s.c.mu.Lock()
		delete(s.c.subs, s)
		s.c.mu.Unlock()
	})
	return s.shutdownErr
}
