package rocketmq

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// fakeConsumer stands in for the push consumer in tests of the receiver
// alone: the tests call consume as the client's queue goroutines do.
type fakeConsumer struct {
	rmq.PushConsumer
	shutdowns int
}

func (f *fakeConsumer) Shutdown() error { f.shutdowns++; return nil }

func newTestReceiver() *receiver {
	r := newReceiver("t", 0)
	r.pc = &fakeConsumer{}
	return r
}

func msgs(ids ...string) []*primitive.MessageExt {
	out := make([]*primitive.MessageExt, len(ids))
	for i, id := range ids {
		e := &primitive.MessageExt{}
		e.WithProperty(propID, id)
		out[i] = e
	}
	return out
}

// consumeAsync runs consume as a queue goroutine of the client would.
func consumeAsync(r *receiver, ms ...*primitive.MessageExt) <-chan consumer.ConsumeResult {
	out := make(chan consumer.ConsumeResult, 1)
	go func() {
		res, _ := r.consume(context.Background(), ms...)
		out <- res
	}()
	return out
}

// TestReviewCloseWhileQueuesStartCalls: the client's queue goroutines call
// consume whenever they like, also while Close waits for the calls in
// progress. Close must neither panic nor race with them (run with -race:
// Close's sync.WaitGroup took an Add from zero concurrent with its Wait,
// which the WaitGroup forbids), and a call starting after Close began
// returns at once without committing.
func TestReviewCloseWhileQueuesStartCalls(t *testing.T) {
	for i := 0; i < 300; i++ {
		r := newTestReceiver()
		var firstDone atomic.Bool
		first := make(chan consumer.ConsumeResult, 1)
		go func() {
			res, _ := r.consume(context.Background(), msgs("a")...)
			firstDone.Store(true)
			first <- res
		}()
		ds, err := r.Receive(context.Background(), 10)
		if err != nil || len(ds) != 1 {
			t.Fatalf("Receive: %v, %v", ds, err)
		}
		var late consumer.ConsumeResult
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			// Another queue's goroutine, starting once the first call
			// returned (Close let it go), while Close may still wait.
			<-r.closing
			for !firstDone.Load() {
				// spin: waiting on Close would order this call after
				// Close's wait, which the client's goroutines are not
				runtime.Gosched()
			}
			late, _ = r.consume(context.Background(), msgs("b")...)
		}()
		go func() {
			defer wg.Done()
			if err := r.Close(); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if res := <-first; res != consumer.SuspendCurrentQueueAMoment {
			t.Fatalf("unsettled batch at Close: %v, want SuspendCurrentQueueAMoment", res)
		}
		if late != consumer.SuspendCurrentQueueAMoment {
			t.Fatalf("call after Close: %v, want SuspendCurrentQueueAMoment", late)
		}
	}
}

// TestReviewReceiveAfterClose: Receive after Close returns ErrClosed, also
// when deliveries of a batch were left over from a smaller max (they are
// not handed out after the batch was put back at Close).
func TestReviewReceiveAfterClose(t *testing.T) {
	r := newTestReceiver()
	res := consumeAsync(r, msgs("a", "b", "c")...)
	ds, err := r.Receive(context.Background(), 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive: %v, %v", ds, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-res; got != consumer.SuspendCurrentQueueAMoment {
		t.Fatalf("batch at Close: %v, want it put back", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ds, err := r.Receive(ctx, 10); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("Receive after Close: %d deliveries, %v; want ErrClosed", len(ds), err)
	}
}

// TestReviewSettlement: a batch is committed (ConsumeSuccess) only when
// every delivery of it is acknowledged; partly acknowledged at Close, or
// with one handed back, it is put back whole; a second Ack or a Nack after
// an Ack of the same delivery changes nothing; a foreign handle is an
// error, not a panic.
func TestReviewSettlement(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		settle func(r *receiver, ds []*driver.Delivery)
		want   consumer.ConsumeResult
	}{
		{"all acked", func(r *receiver, ds []*driver.Delivery) {
			for _, d := range ds {
				_ = r.Ack(ctx, d)
				_ = r.Nack(ctx, d) // after the Ack: no effect
			}
		}, consumer.ConsumeSuccess},
		{"one nacked", func(r *receiver, ds []*driver.Delivery) {
			_ = r.Ack(ctx, ds[0])
			_ = r.Nack(ctx, ds[1])
			_ = r.Ack(ctx, ds[1]) // after the Nack: no effect
			_ = r.Ack(ctx, ds[2])
		}, consumer.SuspendCurrentQueueAMoment},
		{"partly acked at Close", func(r *receiver, ds []*driver.Delivery) {
			_ = r.Ack(ctx, ds[0])
			_ = r.Ack(ctx, ds[0])
			_ = r.Ack(ctx, ds[2])
			_ = r.Close()
			_ = r.Ack(ctx, ds[1]) // after Close: too late to commit
		}, consumer.SuspendCurrentQueueAMoment},
	}
	for _, c := range cases {
		r := newTestReceiver()
		res := consumeAsync(r, msgs("a", "b", "c")...)
		ds, err := r.Receive(ctx, 10)
		if err != nil || len(ds) != 3 {
			t.Fatalf("%s: Receive: %v, %v", c.name, ds, err)
		}
		c.settle(r, ds)
		if got := <-res; got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		_ = r.Close()
	}
	r := newTestReceiver()
	if err := r.Ack(ctx, &driver.Delivery{}); err == nil {
		t.Error("Ack of a delivery without a rocketmq handle: no error")
	}
}

// TestReviewAttemptKeptAcrossNack: before mq nacks a delivery it sets the
// Attempt the next delivery should carry (past the limit when its
// dead-lettering failed, so that the next one goes straight to the
// dead-letter topic instead of through the handler again); the batch
// comes back to this member, and its delivery carries that Attempt.
func TestReviewAttemptKeptAcrossNack(t *testing.T) {
	ctx := context.Background()
	r := newTestReceiver()
	defer r.Close()
	batch := msgs("a", "b")
	res := consumeAsync(r, batch...)
	ds, err := r.Receive(ctx, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Receive: %v, %v", ds, err)
	}
	ds[0].Attempt = 6
	_ = r.Nack(ctx, ds[0])
	_ = r.Ack(ctx, ds[1])
	if got := <-res; got != consumer.SuspendCurrentQueueAMoment {
		t.Fatalf("%v, want the batch put back", got)
	}
	res = consumeAsync(r, batch...) // the client hands the same messages again
	ds, err = r.Receive(ctx, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Receive: %v, %v", ds, err)
	}
	if ds[0].Attempt != 6 || ds[1].Attempt != 1 {
		t.Fatalf("redelivered with Attempt %d and %d, want 6 (as nacked) and 1", ds[0].Attempt, ds[1].Attempt)
	}
	for _, d := range ds {
		_ = r.Ack(ctx, d)
	}
	if got := <-res; got != consumer.ConsumeSuccess {
		t.Fatalf("%v, want success", got)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.hints) != 0 {
		t.Fatalf("%d attempt hints kept after the redelivery", len(r.hints))
	}
}
