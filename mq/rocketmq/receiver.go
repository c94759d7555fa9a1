package rocketmq

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// receiver is one group member: a push consumer in orderly mode. The
// client calls consume with a batch of one queue's messages, on that
// queue's goroutine, holding the broker's lock on the queue, and takes the
// next batch of the queue only once consume returned: consume hands the
// batch to Receive and waits until mq has settled every delivery of it.
// All acknowledged: it returns ConsumeSuccess and the client advances the
// queue's offset past the batch. Any handed back (Nack): it returns
// SuspendCurrentQueueAMoment, the client puts the whole batch back, and
// delivers it again after SuspendInterval; the offset stays before it.
// So the offset only ever moves past acknowledged messages, and a queue's
// messages reach mq in queue order, one batch at a time.
type receiver struct {
	pc      rmq.PushConsumer
	topic   string // as the caller named it (without the namespace)
	suspend int    // milliseconds a queue waits after a hand-back

	batches chan *batch   // handed over by consume, taken by Receive
	closing chan struct{} // closed by Close

	mu      sync.Mutex
	pending []*driver.Delivery // of a batch Receive took, not yet returned (max was smaller)
	// closed and calls (consume calls in progress) let Close wait for the
	// calls in progress while the client's queue goroutines may start
	// new ones at any moment (a sync.WaitGroup forbids an Add from zero
	// during its Wait); idle is signalled when calls drops to zero.
	closed bool
	calls  int
	idle   *sync.Cond
	// hints are the Attempt mq set on deliveries it nacked, for their
	// redelivery: the client hands a batch put back again with the same
	// messages. An entry whose queue moved to another member stays until
	// Close.
	hints map[*primitive.MessageExt]int

	// The hand-over of queues a rebalance takes away (handover.go).
	nameServers []string
	cred        primitive.Credentials
	logger      *slog.Logger
	// owned is each topic's queues of the last allocation; revoked the
	// queues given up since, with the generation of the give-up; busy
	// counts the consume calls in progress per queue; acked is the offset
	// past each queue's last wholly acknowledged batch since this member
	// last gained it (a hand-over forgets it). Guarded by mu.
	owned   map[string]map[primitive.MessageQueue]bool
	revoked map[primitive.MessageQueue]uint64
	gen     uint64
	busy    map[primitive.MessageQueue]int
	acked   map[primitive.MessageQueue]int64
	// sendMu is held while a hand-over is sent and while allocate
	// records an allocation (taken before mu).
	sendMu  sync.Mutex
	handing sync.WaitGroup // hand-overs in progress; Close waits for them
	// lockRenew is how often a hand-over renews the lock of a queue given
	// up while a batch of it is in hand (the member's LockInterval).
	lockRenew time.Duration
}

// batch is one consume call's messages as deliveries.
type batch struct {
	ds      []*driver.Delivery
	mu      sync.Mutex
	left    int  // deliveries not yet settled
	nacked  bool // one was handed back
	settled chan struct{}
}

// handle is a delivery's Handle.
type handle struct {
	b    *batch
	done bool // settled; guarded by b.mu
	next int  // the Attempt mq set when it nacked; guarded by b.mu
}

var _ driver.Receiver = (*receiver)(nil)

// newReceiver returns a receiver of topic (as the caller named it) whose
// queues wait suspend milliseconds after a hand-back; its pc is set next.
func newReceiver(topic string, suspend int) *receiver {
	r := &receiver{topic: topic, suspend: suspend, batches: make(chan *batch), closing: make(chan struct{}),
		hints: map[*primitive.MessageExt]int{}, logger: slog.Default(),
		owned: map[string]map[primitive.MessageQueue]bool{}, revoked: map[primitive.MessageQueue]uint64{},
		busy: map[primitive.MessageQueue]int{}, acked: map[primitive.MessageQueue]int64{},
		lockRenew: 20 * time.Second}
	r.idle = sync.NewCond(&r.mu)
	return r
}

// consume is the push consumer's callback.
func (r *receiver) consume(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	var q primitive.MessageQueue
	if octx, ok := primitive.GetOrderlyCtx(ctx); ok {
		// How long the queue waits before the batch comes again when
		// this call hands it back, after Close too (the client's
		// default, -1, spins).
		octx.SuspendCurrentQueueTimeMillis = r.suspend
		q = octx.MQ
	}
	r.mu.Lock()
	if _, gone := r.revoked[q]; r.closed || gone {
		// Closing, or the queue is being handed over: its batch goes
		// back to the client, which is dropping the queue.
		r.mu.Unlock()
		return consumer.SuspendCurrentQueueAMoment, nil
	}
	r.calls++
	r.busy[q]++
	attempts := make([]int, len(msgs))
	for i, e := range msgs {
		attempts[i] = max(r.hints[e], 1)
		delete(r.hints, e)
	}
	r.mu.Unlock()
	defer r.endCall(q)
	b := &batch{left: len(msgs), settled: make(chan struct{})}
	slab := make([]struct {
		d driver.Delivery
		h handle
	}, len(msgs))
	b.ds = make([]*driver.Delivery, len(msgs))
	for i, e := range msgs {
		s := &slab[i]
		s.d.Message = fromNative(e, r.topic)
		s.h.b = b
		s.d.Attempt, s.d.Handle = attempts[i], &s.h
		b.ds[i] = &s.d
	}
	select {
	case r.batches <- b:
	case <-r.closing:
		return consumer.SuspendCurrentQueueAMoment, nil
	}
	select {
	case <-b.settled:
	case <-r.closing:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Checked after the wait, not by which case won it: a batch settled
	// just as Close began is still committed.
	if b.left == 0 && !b.nacked {
		r.noteAcked(q, msgs)
		return consumer.ConsumeSuccess, nil
	}
	r.keepHints(msgs, b)
	return consumer.SuspendCurrentQueueAMoment, nil
}

// noteAcked records the offset past msgs, a batch of q wholly
// acknowledged, for the hand-over of q (the client gives a queue's
// batches in offset order, one at a time). b.mu is held.
func (r *receiver) noteAcked(q primitive.MessageQueue, msgs []*primitive.MessageExt) {
	last := msgs[len(msgs)-1].QueueOffset
	for _, m := range msgs {
		last = max(last, m.QueueOffset)
	}
	r.mu.Lock()
	r.acked[q] = last + 1
	r.mu.Unlock()
}

// keepHints records the Attempt of each delivery of b that mq nacked with
// one above 1, for the batch's redelivery. b.mu is held.
func (r *receiver) keepHints(msgs []*primitive.MessageExt, b *batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return // the next owner counts afresh
	}
	for i, d := range b.ds {
		if h := d.Handle.(*handle); h.next > 1 {
			r.hints[msgs[i]] = h.next
		}
	}
}

// Receive returns the deliveries of the next batch (at most max, the rest
// at the next call).
func (r *receiver) Receive(ctx context.Context, max int) ([]*driver.Delivery, error) {
	r.mu.Lock()
	if r.closed {
		// What is pending belongs to a batch consume put back at Close.
		r.pending = nil
		r.mu.Unlock()
		return nil, mq.ErrClosed
	}
	if len(r.pending) > 0 {
		n := min(max, len(r.pending))
		out := r.pending[:n:n]
		r.pending = r.pending[n:]
		r.mu.Unlock()
		return out, nil
	}
	r.mu.Unlock()
	select {
	case b := <-r.batches:
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed {
			// Taken as Close began: consume puts it back.
			return nil, mq.ErrClosed
		}
		if len(b.ds) <= max {
			return b.ds, nil
		}
		r.pending = append(r.pending, b.ds[max:]...)
		return b.ds[:max:max], nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.closing:
		return nil, mq.ErrClosed
	}
}

func (r *receiver) settle(d *driver.Delivery, nack bool) error {
	h, ok := d.Handle.(*handle)
	if !ok {
		return fmt.Errorf("delivery %s is not from rocketmq", d.ID)
	}
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if h.done {
		return nil
	}
	h.done = true
	if nack {
		b.nacked = true
		h.next = d.Attempt // set by mq for the next delivery
	}
	b.left--
	if b.left == 0 {
		close(b.settled)
	}
	return nil
}

// Ack marks d handled; its queue's offset moves past it once its whole
// batch is acknowledged.
func (r *receiver) Ack(_ context.Context, d *driver.Delivery) error { return r.settle(d, false) }

// Nack hands d back: its batch is delivered again, whole, once every
// delivery of it is settled.
func (r *receiver) Nack(_ context.Context, d *driver.Delivery) error { return r.settle(d, true) }

// Close leaves the group: batches not wholly acknowledged are put back
// uncommitted (the next owner of their queues delivers them), offsets are
// persisted, and the queue locks released.
func (r *receiver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.pending = nil
	r.hints = nil
	close(r.closing)
	// Let calls in progress return their result to the client before the
	// consumer shuts down (calls starting from now return at once). The
	// client records a batch's new offset after the call returned, so a
	// batch acknowledged just before Close is committed by Shutdown or,
	// losing that race, redelivered: never committed unacknowledged.
	for r.calls > 0 {
		r.idle.Wait()
	}
	r.mu.Unlock()
	err := r.pc.Shutdown()
	// Hand-overs still in progress send their unlock (Shutdown unlocks
	// only the queues the client still holds).
	r.handing.Wait()
	return err
}

// endCall ends a consume call of q, waking Close when it was the last and
// a hand-over of q when it was q's.
func (r *receiver) endCall(q primitive.MessageQueue) {
	r.mu.Lock()
	r.calls--
	if r.busy[q]--; r.busy[q] == 0 {
		delete(r.busy, q)
	}
	r.idle.Broadcast()
	r.mu.Unlock()
}

var _ driver.Aser = (*receiver)(nil)

// As implements driver.Aser: a *rocketmq.PushConsumer (the client's
// interface type) gets the member's push consumer, until Close begins.
func (r *receiver) As(target any) bool {
	p, ok := target.(*rmq.PushConsumer)
	if !ok || p == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	*p = r.pc
	return true
}
