package mq

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// worker is one of a Subscription's WithConcurrency goroutines. Its fields
// are guarded by the subscription's mu.
type worker struct {
	s    *Subscription
	goid uint64  // to refuse Close from inside a handler
	cur  *keyRun // the run it handles, nil between runs
	// ctx is the handlers' context. A revocation of a lost partition
	// cancels it while the worker is on that partition's key; the worker
	// makes a fresh one before its next run.
	ctx    context.Context
	cancel context.CancelFunc
	// done collects the deliveries a run handled, for ackAll; reused run
	// after run (receivers do not keep the slice).
	done []*driver.Delivery
}

// outcome is what became of one attempt at a delivery.
type outcome uint8

const (
	handled   outcome = iota // the handler succeeded: ack with the run
	duplicate                // dedup found it handled already: ack with the run
	settled                  // acknowledged, dead-lettered or nacked already
	retry                    // not settled: try the head again after a backoff
	handBack                 // not settled: taken away while running; nack it
	proceed                  // (dedup claim only) run the handler
)

// loop runs runnable keys until the pool ends.
func (w *worker) loop() {
	s := w.s
	defer s.wg.Done()
	id := goid()
	s.mu.Lock()
	w.goid = id
	s.mu.Unlock()
	defer func() {
		if w.cancel != nil {
			w.cancel()
		}
	}()
	for {
		kr := w.next()
		if kr == nil {
			return
		}
		w.run(kr)
	}
}

// next waits for a runnable key and makes it the worker's; nil when the
// pool is to end: on abandon, or when draining and nothing is runnable or
// waiting for a redelivery.
func (w *worker) next() *keyRun {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	w.cur = nil
	for {
		if s.abandoned.Load() {
			return nil
		}
		if len(s.ready) > 0 {
			kr := s.ready[0]
			s.ready[0] = nil
			s.ready = s.ready[1:]
			w.cur = kr
			if w.ctx == nil || w.ctx.Err() != nil {
				if w.cancel != nil {
					w.cancel()
				}
				w.ctx, w.cancel = context.WithCancel(s.work)
			}
			return kr
		}
		if s.draining && len(s.retrying) == 0 {
			// The last retry may have been made ready with a Signal that
			// woke only this worker: wake the others to end too.
			s.wake.Broadcast()
			return nil
		}
		s.wake.Wait()
	}
}

// run handles kr's queue in order: up to maxRun deliveries, or until one
// fails and waits for its redelivery, or one was taken away by a
// revocation. The deliveries handled are acknowledged together when the
// run ends.
func (w *worker) run(kr *keyRun) {
	s := w.s
	s.mu.Lock()
	batch := kr.queue[:min(len(kr.queue), maxRun)]
	ctx := w.ctx
	s.mu.Unlock()
	done := w.done[:0]
	ok := 0 // handler successes, counted once per run: one atomic add, not one a message
	defer func() {
		clear(done) // holds no delivery past its run
		w.done = done[:0]
		s.c.tel.conOK.add(ok)
	}()
	for i, d := range batch {
		if s.revoking.Load() > 0 && s.isRevoked(d) {
			s.endRun(kr, done, i, 0, false) // hands d and what follows of its partition back
			return
		}
		out, retryIn := s.handle(ctx, kr, d)
		if s.abandoned.Load() {
			return // the broker redelivers what is left
		}
		switch out {
		case handled:
			ok++
			done = append(done, d)
		case duplicate:
			done = append(done, d)
		case retry, handBack:
			if out == retry && testHookRetry != nil {
				testHookRetry(retryIn)
			}
			s.endRun(kr, done, i, retryIn, out == retry)
			return
		}
		kr.attempt, kr.bo = 0, nil
	}
	s.endRun(kr, done, len(batch), 0, false)
}

// endRun acknowledges done, drops the first n deliveries of kr (all
// settled now), hands back those a revocation took, and puts kr where it
// belongs: waiting retryIn for its head's next attempt, back in line, or
// finished.
func (s *Subscription) endRun(kr *keyRun, done []*driver.Delivery, n int, retryIn time.Duration, retry bool) {
	s.ackAll(done)
	var back, release []*driver.Delivery
	s.mu.Lock()
	if s.revoking.Load() > 0 {
		s.unmarkLocked(kr.queue[:n])
	}
	clear(kr.queue[:n])
	kr.queue = kr.queue[n:]
	if s.revoking.Load() > 0 && s.takeLocked(kr, s.isRevokedLocked, &back, &release) {
		retry = false // the head was taken: the next one is new
	}
	switch {
	case len(kr.queue) == 0:
		if kr.key != "" {
			delete(s.keys, kr.key)
		}
		kr.queue, kr.attempt, kr.bo = kr.queue[:0], 0, nil
		s.spare = append(s.spare, kr)
	case retry && !s.isStopping():
		// Armed under mu, after Shutdown's check of stopping or before
		// its sweep of retrying: a retry is never left for Shutdown to
		// wait out.
		s.retrying[kr] = struct{}{}
		kr.timer = time.AfterFunc(retryIn, func() { s.retryReady(kr) })
	default:
		s.ready = append(s.ready, kr) // more to do, or to be handed back
		s.wake.Signal()
	}
	s.mu.Unlock()
	s.handBack(back, release)
}

// testHookRetry, when set (by tests only, before the Subscription is
// made), runs when a handler failure is about to be retried, with the
// wait before the retry.
var testHookRetry func(wait time.Duration)

// retryReady makes kr runnable again when its redelivery backoff ends.
func (s *Subscription) retryReady(kr *keyRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.retrying[kr]; !ok {
		return // shutdown or a revocation took it over
	}
	delete(s.retrying, kr)
	s.ready = append(s.ready, kr)
	s.wake.Signal()
}

func (s *Subscription) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// handle makes one attempt at d, the head of kr, with the handler running
// under ctx. On shutdown it hands d back.
func (s *Subscription) handle(ctx context.Context, kr *keyRun, d *driver.Delivery) (outcome, time.Duration) {
	if s.isStopping() {
		if kr.attempt > 0 {
			s.dedupRelease(d) // claimed for its earlier attempt
		}
		s.nack(d, kr.attempt)
		s.settled()
		return settled, 0
	}
	tel := s.c.tel
	first := kr.attempt == 0
	if first {
		if d.Attempt > s.o.maxAttempts {
			// Delivered more often than allowed without being settled:
			// the members it reached died handling it (a poison message).
			tel.conDLQ.add(1)
			s.deadLetter(d, fmt.Errorf("mq: delivered %d times, over the limit of %d attempts, without being settled", d.Attempt, s.o.maxAttempts), d.Attempt-1)
			s.settled()
			return settled, 0
		}
		if out, wait := s.claim(kr, d); out != proceed {
			return out, wait
		}
		kr.attempt = max(d.Attempt, 1)
	}
	// The first attempt's handler gets the delivery's own message; a
	// later one a copy, as the handler may have kept the earlier one.
	msg := &d.Message
	if !first {
		msg = new(Message)
		*msg = d.Message
	}
	msg.Attempt = kr.attempt
	err := s.call(ctx, d, msg)
	if s.abandoned.Load() {
		return settled, 0 // not settled: the broker redelivers it
	}
	if err == nil {
		s.dedupDone(d)
		return handled, 0
	}
	switch {
	case s.revoking.Load() > 0 && s.isRevoked(d):
		// Taken away while running (its context may have been cancelled
		// for that): not a failure of the handler's, so not counted.
		// endRun hands it back and releases its dedup claim.
		return handBack, 0
	case s.isStopping() && !isPermanent(err):
		// A handler that returns an error once Shutdown began may be
		// giving its message back because of it (logship's Indexer does,
		// waiting for a store that is down): a hand-over, not a failed
		// attempt, so neither counted nor dead-lettered on the last one.
		s.dedupRelease(d)
		s.nack(d, kr.attempt)
	case kr.attempt >= s.o.maxAttempts || isPermanent(err):
		s.dedupRelease(d)
		tel.conDLQ.add(1)
		s.deadLetter(d, err, kr.attempt)
	default: // the dedup claim is kept for the next attempt
		tel.conRetry.add(1)
		kr.attempt++
		if wait, ok := retryAfter(err); ok {
			return retry, wait // the handler's word; the backoff stays where it was
		}
		if kr.bo == nil {
			kr.bo = retrying.NewBackOff(s.o.redelivery)
		}
		return retry, kr.bo.NextBackOff()
	}
	s.settled()
	return settled, 0
}

// call runs the handler once, turning a panic into an error. A message
// that carries a trace context is handled under an "mq process" span that
// continues it; an untraced one gets no span (a root span per message costs
// allocations even when nothing records it).
func (s *Subscription) call(ctx context.Context, d *driver.Delivery, m *Message) (err error) {
	// Only headers or Subscribe's context can carry a trace context; not
	// looking where neither can saves a context lookup per message.
	var span trace.Span
	if len(d.Headers) > 0 || s.traced {
		ctx = s.c.extractTrace(ctx, d.Headers)
		if trace.SpanContextFromContext(ctx).IsValid() {
			ctx, span = s.c.tel.tracer.Start(ctx, "mq process", consumerKind)
			defer span.End()
			if span.IsRecording() {
				span.SetAttributes(attribute.String("messaging.destination.name", s.topic),
					attribute.String("messaging.consumer.group.name", s.group),
					attribute.String("messaging.message.id", d.ID), attribute.Int("mq.attempt", m.Attempt))
			}
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
