package mq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Subscription is one member of a consumer group, running a Handler. End
// it with Close or Shutdown.
//
// Deliveries are queued per key and run by a fixed pool of
// WithConcurrency workers: a worker takes a runnable key and handles its
// queue in order. A key whose message failed waits for its redelivery
// backoff on a timer, not on a worker, so it holds back only itself.
type Subscription struct {
	c            *Client
	topic, group string
	h            Handler
	o            *subOptions
	recv         driver.Receiver
	revoker      driver.Revoker // recv, when it can revoke; else nil
	owner        string         // this member's name, which starts its dedup claims' names
	claimSeq     atomic.Uint64

	inflight atomic.Int64  // received and not yet settled (prefetch)
	freed    chan struct{} // signalled when inflight drops

	stopRecv context.CancelFunc
	recvDone chan struct{}
	stopping chan struct{} // closed when shutdown starts

	// work is the context of acks and dead-lettering, and the parent of
	// the handlers' contexts; it is cancelled only when a shutdown
	// deadline passes (abandon).
	work      context.Context
	abandon   context.CancelFunc
	abandoned atomic.Bool
	// traced: work carries a span context (from Subscribe's ctx), so
	// every message's handler runs under a span even without headers.
	traced bool

	mu       sync.Mutex
	wake     *sync.Cond           // on mu: ready grew, or the pool is to end
	keys     map[string]*keyRun   // keys with deliveries waiting, running or retrying
	ready    []*keyRun            // runnable, oldest first
	retrying map[*keyRun]struct{} // waiting on a redelivery timer
	spare    []*keyRun            // finished runs, for reuse
	draining bool                 // no more deliveries come: workers end when idle
	workers  []*worker
	wg       sync.WaitGroup // workers

	// Deliveries the broker took away while a worker was on their key
	// (revoke.go): the worker hands them back. revoking counts them so
	// that workers look them up only while there are any.
	revoked    map[*driver.Delivery]struct{}
	revoking   atomic.Int32
	revokeDone *sync.Cond // on mu: a revoked delivery was settled

	claims map[*driver.Delivery]string // dedup claims held, by the name they were made under

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
	err = retrying.Do(ctx, c.opts.retry, c.retryable, func(ctx context.Context) error {
		return c.breaker.Do(func() error {
			var err error
			recv, err = c.conn.Subscribe(ctx, topic, group)
			return err
		})
	})
	if err != nil {
		return nil, wrapOp(fmt.Sprintf("subscribe to %q as %q via %s", topic, group, c.provider), err)
	}
	s := &Subscription{
		c: c, topic: topic, group: group, h: h, o: o, recv: recv, owner: newOwner(),
		freed:    make(chan struct{}, 1),
		recvDone: make(chan struct{}),
		stopping: make(chan struct{}),
		keys:     map[string]*keyRun{},
		retrying: map[*keyRun]struct{}{},
		revoked:  map[*driver.Delivery]struct{}{},
		claims:   map[*driver.Delivery]string{},
	}
	s.wake = sync.NewCond(&s.mu)
	s.revokeDone = sync.NewCond(&s.mu)
	s.work, s.abandon = context.WithCancel(context.WithoutCancel(ctx))
	s.traced = trace.SpanContextFromContext(s.work).IsValid()
	c.mu.Lock()
	if c.isClosed() {
		c.mu.Unlock()
		s.abandon()
		recv.Close()
		return nil, ErrClosed
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	if rv, ok := recv.(driver.Revoker); ok {
		s.revoker = rv
		rv.SetRevokeFunc(s.revoke)
	}
	var recvCtx context.Context
	recvCtx, s.stopRecv = context.WithCancel(context.Background())
	s.wg.Add(o.concurrency)
	for range o.concurrency {
		w := &worker{s: s}
		s.workers = append(s.workers, w)
		go w.loop()
	}
	go s.receiveLoop(recvCtx)
	return s, nil
}

// receiveLoop pulls deliveries while there is prefetch room and queues
// them on their keys, in the order the broker gave them.
func (s *Subscription) receiveLoop(ctx context.Context) {
	defer close(s.recvDone)
	bo := retrying.NewLoopBackOff(s.c.opts.retry)
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
	var back []*driver.Delivery
	s.mu.Lock()
	runnable := 0
	for _, d := range dels {
		if s.revoker != nil && s.revoker.Revoked(d) {
			back = append(back, d) // revoked while in transit
			continue
		}
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
	s.handBack(back, nil)
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

// Close stops receiving and waits for in-flight handlers: see Shutdown.
func (s *Subscription) Close() error { return s.Shutdown(context.Background()) }

// Shutdown stops receiving, hands back messages received but not started
// (and those waiting for a redelivery), and waits for running handlers to
// finish and be acknowledged. If ctx ends first, the handlers' context is
// cancelled and what they were handling is left unacknowledged, for the
// broker to redeliver; Shutdown still waits for them to return, so nothing
// touches the broker after it, and a handler that ignores its context
// delays it. The member then leaves its group. It is idempotent. Called
// from inside one of the subscription's own handlers, it would wait for
// itself: it returns an error wrapping ErrInvalid instead.
func (s *Subscription) Shutdown(ctx context.Context) error {
	if s.inHandler() {
		return fmt.Errorf("%w: Shutdown of %q/%q called from inside its own handler, which it would wait for", ErrInvalid, s.topic, s.group)
	}
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
		if testHookSwept != nil {
			testHookSwept()
		}
		idle := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(idle)
		}()
		select {
		case <-idle:
		case <-ctx.Done():
			s.abandoned.Store(true)
			s.abandon() // cancels the handlers' contexts
			s.mu.Lock()
			s.wake.Broadcast()
			s.revokeDone.Broadcast()
			s.mu.Unlock()
			<-idle
			s.shutdownErr = fmt.Errorf("mq: shutdown of %q/%q abandoned running handlers: %w", s.topic, s.group, ctx.Err())
		}
		s.releaseClaims(ctx)
		s.abandon()
		s.shutdownErr = errors.Join(s.shutdownErr, s.closeErr("leave group", s.recv.Close()))
		if s.o.ephemeral {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := s.c.conn.(driver.GroupDeleter).DeleteGroup(dctx, s.topic, s.group)
			cancel()
			if err != nil {
				s.shutdownErr = errors.Join(s.shutdownErr, s.closeErr("delete group", err))
			}
		}
		s.c.mu.Lock()
		delete(s.c.subs, s)
		s.c.mu.Unlock()
	})
	return s.shutdownErr
}

// closeErr is the error of op ("leave group", "delete group"), a step of
// Shutdown that runs under a deadline of its own (the receiver's Close
// takes no context; deleting a group gets 30s past the caller's): a
// deadline it reports is the broker not answering in time, ErrUnreachable.
func (s *Subscription) closeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnreachable) {
		err = fmt.Errorf("%w: no answer: %w", ErrUnreachable, err)
	}
	return &opError{op: fmt.Sprintf("%s %q of %q via %s", op, s.group, s.topic, s.c.provider), err: err}
}

// testHookSwept, when set (by tests only, before the Subscription is
// made), runs in Shutdown after it has swept the retry timers.
var testHookSwept func()

// inHandler reports whether the calling goroutine is one of s's workers.
func (s *Subscription) inHandler() bool {
	id := goid()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		if w.goid == id {
			return true
		}
	}
	return false
}

// newOwner returns a name for a member's dedup claims, unique across
// processes.
func newOwner() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
