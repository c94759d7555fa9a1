package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// These tests drive the receiver's callback directly, as the client's
// per-queue consume goroutines call it, with no client and no broker:
// they run under -race, where the tests through the client cannot (see
// the package doc, "Tests"), so the receiver's own concurrency — consume
// calls of several queues, Receive, Ack and Nack from many goroutines,
// Close — is race-checked.

// fakePushConsumer stands in for the client's push consumer: the
// receiver only calls its Shutdown.
type fakePushConsumer struct {
	rmq.PushConsumer // nil: any other method would panic
	shutdowns        atomic.Int32
}

func (f *fakePushConsumer) Shutdown() error { f.shutdowns.Add(1); return nil }

func testReceiver() (*receiver, *fakePushConsumer) {
	pc := new(fakePushConsumer)
	r := newReceiver("orders", 20) // ms
	r.pc = pc
	return r, pc
}

// nativeBatch is one queue's batch as the client hands it over.
func nativeBatch(queue, batch, size int) []*primitive.MessageExt {
	msgs := make([]*primitive.MessageExt, size)
	for i := range msgs {
		e := &primitive.MessageExt{Message: primitive.Message{Body: []byte("x")}}
		e.WithProperty(propID, fmt.Sprintf("q%d-b%d-m%d", queue, batch, i))
		e.WithProperty(primitive.PropertyKeys, fmt.Sprintf("k%d", i))
		msgs[i] = e
	}
	return msgs
}

// consumeOnce calls consume as the client's orderly loop does, with an
// orderly context, and checks that the receiver set the queue's suspend
// time on it.
func consumeOnce(t *testing.T, r *receiver, msgs []*primitive.MessageExt) consumer.ConsumeResult {
	octx := &primitive.ConsumeOrderlyContext{SuspendCurrentQueueTimeMillis: -1}
	res, err := r.consume(primitive.WithOrderlyCtx(context.Background(), octx), msgs...)
	if err != nil {
		t.Errorf("consume: %v", err)
	}
	if octx.SuspendCurrentQueueTimeMillis != r.suspend {
		t.Errorf("consume left the queue's suspend time at %d ms, want %d", octx.SuspendCurrentQueueTimeMillis, r.suspend)
	}
	return res
}

// TestReceiverConcurrentSettlement: four queues hand batches over at
// once; three workers take them with a max below the batch size (so
// batches are split across Receive calls) and settle every delivery on a
// goroutine of its own, twice (the second settlement is a no-op). The
// first delivery of each batch is handed back the first time: every
// batch must come back exactly once, and consume may return
// ConsumeSuccess only once all of the batch was acknowledged.
func TestReceiverConcurrentSettlement(t *testing.T) {
	const queues, batches, size = 4, 25, 5
	r, pc := testReceiver()

	var nacked sync.Map // IDs handed back once already
	var acked sync.Map  // ID -> *atomic.Int32: acknowledgements before the Ack call
	var workers, settles sync.WaitGroup
	for range 3 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				ds, err := r.Receive(context.Background(), 3)
				if errors.Is(err, mq.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("receive: %v", err)
					return
				}
				if len(ds) == 0 || len(ds) > 3 {
					t.Errorf("receive returned %d deliveries, want 1 to 3", len(ds))
				}
				for _, d := range ds {
					settles.Add(1)
					go func(d *driver.Delivery) {
						defer settles.Done()
						if d.Attempt != 1 || d.Topic != "orders" {
							t.Errorf("delivery %s: attempt %d topic %q", d.ID, d.Attempt, d.Topic)
						}
						first := strings.HasSuffix(d.ID, "-m0")
						if _, again := nacked.LoadOrStore(d.ID, true); first && !again {
							if err := r.Nack(context.Background(), d); err != nil {
								t.Errorf("nack: %v", err)
							}
						} else {
							n, _ := acked.LoadOrStore(d.ID, new(atomic.Int32))
							n.(*atomic.Int32).Add(1)
							if err := r.Ack(context.Background(), d); err != nil {
								t.Errorf("ack: %v", err)
							}
						}
						// Settling twice is a no-op, whichever came first.
						if err := r.Ack(context.Background(), d); err != nil {
							t.Errorf("second ack: %v", err)
						}
					}(d)
				}
			}
		}()
	}

	var suspends atomic.Int32
	var queueLoops sync.WaitGroup
	for q := range queues {
		queueLoops.Add(1)
		go func() {
			defer queueLoops.Done()
			for b := range batches {
				msgs := nativeBatch(q, b, size)
				for {
					res := consumeOnce(t, r, msgs)
					if res == consumer.SuspendCurrentQueueAMoment {
						suspends.Add(1)
						continue // the client puts the batch back and delivers it again
					}
					if res != consumer.ConsumeSuccess {
						t.Errorf("queue %d batch %d: result %v", q, b, res)
						return
					}
					for _, e := range msgs {
						n, ok := acked.Load(e.GetProperty(propID))
						if !ok || n.(*atomic.Int32).Load() == 0 {
							t.Errorf("batch committed (ConsumeSuccess) before %s was acknowledged", e.GetProperty(propID))
						}
					}
					break
				}
			}
		}()
	}
	queueLoops.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	workers.Wait()
	settles.Wait()
	if got, want := suspends.Load(), int32(queues*batches); got != want {
		t.Errorf("%d batches handed back, want %d (each batch's first delivery is nacked once)", got, want)
	}
	if n := pc.shutdowns.Load(); n != 1 {
		t.Errorf("push consumer shut down %d times, want 1", n)
	}
}

// TestReceiverCloseRaces: Close (twice, at once) races with a batch
// being acknowledged, batches waiting to be handed over or taken but not
// settled, and Receive calls. Every consume call must return (Close
// waits for those in progress), a batch may be committed only if all of
// it was acknowledged, Receive ends with mq.ErrClosed, the consumer is
// shut down once, and settling after Close neither panics nor blocks.
func TestReceiverCloseRaces(t *testing.T) {
	for round := range 20 {
		r, pc := testReceiver()

		// Queue 0's batch: taken, one of two deliveries acknowledged.
		first := nativeBatch(0, round, 2)
		firstRes := make(chan consumer.ConsumeResult, 1)
		go func() { firstRes <- consumeOnce(t, r, first) }()
		ds, err := r.Receive(context.Background(), 10)
		if err != nil || len(ds) != 2 {
			t.Fatalf("receive: %d deliveries, %v", len(ds), err)
		}
		if err := r.Ack(context.Background(), ds[0]); err != nil {
			t.Fatal(err)
		}

		// Queues 1-4: batches handed over at the time of Close; two
		// receivers take some of them and settle nothing.
		var late sync.WaitGroup
		for q := 1; q <= 4; q++ {
			late.Add(1)
			go func() {
				defer late.Done()
				if res := consumeOnce(t, r, nativeBatch(q, round, 3)); res != consumer.SuspendCurrentQueueAMoment {
					t.Errorf("queue %d: an unsettled batch got %v", q, res)
				}
			}()
		}
		var taken sync.WaitGroup
		var held sync.Mutex
		var unsettled []*driver.Delivery
		for range 2 {
			taken.Add(1)
			go func() {
				defer taken.Done()
				for {
					ds, err := r.Receive(context.Background(), 2)
					if errors.Is(err, mq.ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("receive: %v", err)
						return
					}
					held.Lock()
					unsettled = append(unsettled, ds...)
					held.Unlock()
				}
			}()
		}

		var closers sync.WaitGroup
		for range 2 {
			closers.Add(1)
			go func() {
				defer closers.Done()
				if err := r.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
		}
		acked := make(chan struct{})
		go func() {
			defer close(acked)
			if err := r.Ack(context.Background(), ds[1]); err != nil {
				t.Errorf("ack: %v", err)
			}
		}()
		closers.Wait()
		late.Wait()
		taken.Wait()
		<-acked
		if res := <-firstRes; res != consumer.ConsumeSuccess && res != consumer.SuspendCurrentQueueAMoment {
			t.Fatalf("first batch: result %v", res)
		}
		// After Close: a new batch is put back at once, and deliveries
		// still held are settled without effect.
		if res := consumeOnce(t, r, nativeBatch(9, round, 1)); res != consumer.SuspendCurrentQueueAMoment {
			t.Errorf("consume after Close: %v", res)
		}
		for _, d := range unsettled {
			if err := r.Nack(context.Background(), d); err != nil {
				t.Errorf("nack after close: %v", err)
			}
		}
		if _, err := r.Receive(context.Background(), 1); !errors.Is(err, mq.ErrClosed) {
			t.Errorf("receive after close: %v, want ErrClosed", err)
		}
		if n := pc.shutdowns.Load(); n != 1 {
			t.Fatalf("push consumer shut down %d times, want 1", n)
		}
	}
}
