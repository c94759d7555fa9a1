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
//
// Deliveries are queued per key (keyRun) and run by a fixed pool of
// WithConcurrency workers: a worker takes a runnable key and handles its
// queue in order. A key whose message failed waits for its redelivery
// backoff on a timer, not on a worker, so it holds back only itself.
type Subscription struct {
	c            *Client
	topic, group string
	h            Handler
	o            *subOptions
	recv         driver.Receiver

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

	mu       sync.Mutex
	wake     *sync.Cond           // on mu: ready grew, or the pool is to end
	keys     map[string]*keyRun   // keys with deliveries waiting, running or retrying
	ready    []*keyRun            // runnable, oldest first
	retrying map[*keyRun]struct{} // waiting on a redelivery timer
	spare    []*keyRun            // finished runs, for reuse
	draining bool                 // no more deliveries come: workers end when idle
	wg       sync.WaitGroup       // workers

	shutdownOnce sync.Once
	shutdownErr  error
}

// keyRun is one key's queue of deliveries, head first. The head is the
// one running or waiting for its redelivery; attempt and bo are its.
type keyRun struct {
	key     string
	queue   []*driver.Delivery
	attempt int // attempt number of the head's next try; 0 before the first
	bo      backoff.BackOff
	timer   *time.Timer
}

// maxRun bounds how many deliveries of one key a worker handles before it
// puts the key back in line, so that a busy key cannot starve others.
const maxRun = 64

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
	if _, ok := c.conn.(driver.GroupDeleter); o.ephemeral && !ok {
		return nil, fmt.Errorf("%w: WithEphemeralGroup: %s cannot delete groups", ErrUnsupported, c.provider)
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
		freed:    make(chan struct{}, 1),
		recvDone: make(chan struct{}),
		stopping: make(chan struct{}),
		keys:     map[string]*keyRun{},
		retrying: map[*keyRun]struct{}{},
	}
	s.wake = sync.NewCond(&s.mu)
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
	s.wg.Add(o.concurrency)
	for range o.concurrency {
		go s.worker()
	}
	go s.receiveLoop(recvCtx)
	return s, nil
}

// receiveLoop pulls deliveries while there is prefetch room and queues
// them on their keys, in the order the broker gave them.
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
		s.dispatch(dels)
	}
}

// dispatch queues each delivery behind its key's earlier ones, making
// keys that were idle runnable. Keyless deliveries are runs of their own.
func (s *Subscription) dispatch(dels []*driver.Delivery) {
	s.mu.Lock()
	runnable := 0
	for _, d := range dels {
		if d.Key != "" {
			if kr, busy := s.keys[d.Key]; busy {
				kr.queue = append(kr.queue, d)
				continue
			}
		}
		kr := s.newRun(d.Key)
		kr.queue = append(kr.queue, d)
		if d.Key != "" {
			s.keys[d.Key] = kr
		}
		s.ready = append(s.ready, kr)
		runnable++
	}
	s.mu.Unlock()
	if runnable >= s.o.concurrency {
		s.wake.Broadcast()
	} else {
		for range runnable {
			s.wake.Signal()
		}
	}
}

// newRun returns an empty keyRun, reusing a finished one. Called with mu.
func (s *Subscription) newRun(key string) *keyRun {
	if n := len(s.spare); n > 0 {
		kr := s.spare[n-1]
		s.spare = s.spare[:n-1]
		kr.key = key
		return kr
	}
	return &keyRun{key: key}
}

// worker runs runnable keys until the pool ends.
func (s *Subscription) worker() {
	defer s.wg.Done()
	for {
		kr := s.next()
		if kr == nil {
			return
		}
		s.run(kr)
	}
}

// next waits for a runnable key; nil when the pool is to end: on abandon,
// or when draining and nothing is runnable or waiting for a redelivery.
func (s *Subscription) next() *keyRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.abandoned.Load() {
			return nil
		}
		if len(s.ready) > 0 {
			kr := s.ready[0]
			s.ready[0] = nil
			s.ready = s.ready[1:]
			return kr
		}
		if s.draining && len(s.retrying) == 0 {
			return nil
		}
		s.wake.Wait()
	}
}

// run handles kr's queue in order: up to maxRun deliveries, or until one
// fails and waits for its redelivery. The deliveries handled are
// acknowledged together when the run ends, and their messages are
// allocated together when it starts.
func (s *Subscription) run(kr *keyRun) {
	s.mu.Lock()
	batch := kr.queue[:min(len(kr.queue), maxRun)]
	s.mu.Unlock()
	msgs := make([]Message, len(batch))
	var done []*driver.Delivery
	for i, d := range batch {
		retryIn, retry, handled := s.handle(kr, d, &msgs[i])
		if s.abandoned.Load() {
			return // the broker redelivers what is left
		}
		if handled {
			done = append(done, d)
		}
		if retry {
			s.ackAll(done)
			s.mu.Lock()
			s.popDone(kr, i)
			s.retrying[kr] = struct{}{}
			kr.timer = time.AfterFunc(retryIn, func() { s.retryReady(kr) })
			s.mu.Unlock()
			return
		}
		kr.attempt, kr.bo = 0, nil
	}
	s.ackAll(done)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.popDone(kr, len(batch))
	if len(kr.queue) > 0 {
		s.ready = append(s.ready, kr) // more arrived, or the run hit maxRun
		s.wake.Signal()
		return
	}
	if kr.key != "" {
		delete(s.keys, kr.key)
	}
	kr.queue = kr.queue[:0]
	s.spare = append(s.spare, kr)
}

// popDone drops the first n deliveries of kr's queue, which are settled.
// Called with mu.
func (s *Subscription) popDone(kr *keyRun, n int) {
	clear(kr.queue[:n])
	kr.queue = kr.queue[n:]
}

// retryReady makes kr runnable again when its redelivery backoff ends.
func (s *Subscription) retryReady(kr *keyRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.retrying[kr]; !ok {
		return // shutdown took it over
	}
	delete(s.retrying, kr)
	s.ready = append(s.ready, kr)
	s.wake.Signal()
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

// handle makes one attempt at d, the head of kr, and settles it unless it
// is to be tried again after retryIn, or was handled (the handler returned
// nil, or the group had handled it before) and waits to be acknowledged
// with the rest of the run. On shutdown it hands d back. msg is where the
// first attempt's Message goes.
func (s *Subscription) handle(kr *keyRun, d *driver.Delivery, msg *Message) (retryIn time.Duration, retry, handled bool) {
	if s.isStopping() {
		s.nack(d)
		s.settled()
		return 0, false, false
	}
	tel := s.c.tel
	if kr.attempt == 0 {
		if d.Attempt > s.o.maxAttempts {
			// Delivered more often than allowed without being settled:
			// the members it reached died handling it (a poison message).
			tel.conDLQ.add(1)
			s.deadLetter(d, fmt.Errorf("mq: delivered %d times, over the limit of %d attempts, without being settled", d.Attempt, s.o.maxAttempts), d.Attempt-1)
			s.settled()
			return 0, false, false
		}
		if store := s.c.opts.dedup; store != nil {
			seen, err := store.Seen(s.work, s.group, d.ID)
			if err != nil {
				s.c.opts.logger.Warn("mq: dedup lookup failed; handling the message", "topic", s.topic, "id", d.ID, "err", err)
			}
			if seen {
				tel.conDedupe.add(1)
				return 0, false, true
			}
		}
		kr.attempt = max(d.Attempt, 1)
	} else {
		msg = new(Message) // the handler may keep the last attempt's
	}
	fillMessage(msg, d, kr.attempt)
	err := s.call(d, msg)
	if s.abandoned.Load() {
		return 0, false, false // the broker redelivers it
	}
	switch {
	case err == nil:
		tel.conOK.add(1)
		if store := s.c.opts.dedup; store != nil {
			if err := store.MarkDone(s.work, s.group, d.ID); err != nil {
				s.c.opts.logger.Warn("mq: dedup mark failed", "topic", s.topic, "id", d.ID, "err", err)
			}
		}
		return 0, false, true
	case kr.attempt >= s.o.maxAttempts:
		tel.conDLQ.add(1)
		s.deadLetter(d, err, kr.attempt)
	case s.isStopping():
		s.nack(d)
	default:
		tel.conRetry.add(1)
		if kr.bo == nil {
			kr.bo = s.o.redelivery.NewBackOff()
		}
		kr.attempt++
		return kr.bo.NextBackOff(), true, false
	}
	s.settled()
	return 0, false, false
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
func (s *Subscription) call(d *driver.Delivery, m *Message) (err error) {
	ctx := s.c.extractTrace(s.work, d.Headers)
	var span trace.Span
	if trace.SpanContextFromContext(ctx).IsValid() {
		ctx, span = s.c.tel.tracer.Start(ctx, "mq process", consumerKind)
		defer span.End()
		if span.IsRecording() {
			span.SetAttributes(attribute.String("messaging.destination.name", s.topic),
				attribute.String("messaging.consumer.group.name", s.group),
				attribute.String("messaging.message.id", d.ID), attribute.Int("mq.attempt", m.Attempt))
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
	return s.h(ctx, m)
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

// ackAll acknowledges ds, in one call where the receiver can, and settles
// them.
func (s *Subscription) ackAll(ds []*driver.Delivery) {
	if len(ds) == 0 {
		return
	}
	if ba, ok := s.recv.(driver.BatchAcker); ok && len(ds) > 1 {
		err := s.c.opts.retry.Do(s.work, s.c.conn.IsRetryable, func(ctx context.Context) error {
			return ba.AckBatch(ctx, ds)
		})
		if err != nil && !s.abandoned.Load() {
			s.c.opts.logger.Warn("mq: ack failed; the messages will be redelivered", "topic", s.topic, "count", len(ds), "err", err)
		}
	} else {
		for _, d := range ds {
			s.ack(d)
		}
	}
	for range ds {
		s.settled()
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

// Shutdown stops receiving, hands back messages received but not started
// (and those waiting for a redelivery), and waits for running handlers to
// finish and be acknowledged. If ctx ends first, the handlers' context is
// cancelled and what they were handling is left unacknowledged, for the
// broker to redeliver. The member then leaves its group. It is idempotent.
func (s *Subscription) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		close(s.stopping)
		s.stopRecv()
		<-s.recvDone
		s.mu.Lock()
		for kr := range s.retrying {
			if kr.timer.Stop() {
				delete(s.retrying, kr)
				s.ready = append(s.ready, kr) // to be handed back
			}
		}
		s.draining = true
		s.wake.Broadcast()
		s.mu.Unlock()
		idle := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(idle)
		}()
		select {
		case <-idle:
		case <-ctx.Done():
			s.abandoned.Store(true)
			s.mu.Lock()
			s.wake.Broadcast()
			s.mu.Unlock()
			s.shutdownErr = fmt.Errorf("mq: shutdown of %q/%q abandoned running handlers: %w", s.topic, s.group, ctx.Err())
		}
		s.abandon()
		s.shutdownErr = errors.Join(s.shutdownErr, s.recv.Close())
		if s.o.ephemeral {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := s.c.conn.(driver.GroupDeleter).DeleteGroup(dctx, s.topic, s.group)
			cancel()
			if err != nil {
				s.shutdownErr = errors.Join(s.shutdownErr, fmt.Errorf("mq: delete group %q of %q: %w", s.group, s.topic, err))
			}
		}
		s.c.mu.Lock()
		delete(s.c.subs, s)
		s.c.mu.Unlock()
	})
	return s.shutdownErr
}
