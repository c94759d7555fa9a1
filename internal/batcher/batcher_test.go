package batcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rec records the batches a flush function was given.
type rec struct {
	mu      sync.Mutex
	batches [][]int
	fail    func(b Batch[int]) error
}

func (r *rec) flush(_ context.Context, b Batch[int]) error {
	if r.fail != nil {
		if err := r.fail(b); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(b.Items))
	return nil
}

func (r *rec) all() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

var fast = resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, NoJitter: true, MaxAttempts: 3}

func newB(t *testing.T, o Options, r *rec) *Batcher[int] {
	t.Helper()
	o.Meter = noop.NewMeterProvider()
	if o.Tick == nil {
		o.Tick = make(chan time.Time) // never: no timed flushes
	}
	o.Retry = fast
	b, err := New(Names{"test", "test", "test"}, o, r.flush)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFullBatchFlushes: Size items flush without a tick; order is kept.
func TestFullBatchFlushes(t *testing.T) {
	r := &rec{}
	attempts := make(chan int, 10)
	b := newB(t, Options{Size: 3, OnAttempt: func(n int, err error) { attempts <- n }}, r)
	for i := range 3 {
		b.Add(i)
	}
	if n := <-attempts; n != 3 {
		t.Fatalf("flushed %d, want 3", n)
	}
	b.Add(3)
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.all(); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("written %v", got)
	}
	if d, f, w := b.Counts(); d != 0 || f != 0 || w != 4 {
		t.Fatalf("counts %d %d %d", d, f, w)
	}
}

// TestTickFlushes: a tick flushes a partial batch.
func TestTickFlushes(t *testing.T) {
	r := &rec{}
	tick := make(chan time.Time)
	attempts := make(chan int, 10)
	b := newB(t, Options{Size: 100, Tick: tick, OnAttempt: func(n int, err error) { attempts <- n }}, r)
	defer b.Shutdown(context.Background())
	b.Add(1)
	tick <- time.Time{}
	if n := <-attempts; n != 1 {
		t.Fatalf("flushed %d, want 1", n)
	}
}

// TestFullQueueDrops: with the writer held, events past the queue's bound
// are dropped and counted, and Add does not block.
func TestFullQueueDrops(t *testing.T) {
	hold := make(chan struct{})
	holding := make(chan struct{}, 1)
	r := &rec{fail: func(b Batch[int]) error {
		if b.Items[0] == 0 {
			holding <- struct{}{}
			<-hold
		}
		return nil
	}}
	b := newB(t, Options{Size: 1, Queue: 2}, r)
	b.Add(0) // taken by the writer, which holds
	<-holding
	for i := 1; i <= 5; i++ {
		b.Add(i) // 1 and 2 queue; 3, 4, 5 drop
	}
	close(hold)
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.all(); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("written %v", got)
	}
	if d, _, _ := b.Counts(); d != 3 {
		t.Fatalf("dropped %d, want 3", d)
	}
	b.Add(6) // after Shutdown: dropped, no panic
	if d, _, _ := b.Counts(); d != 4 {
		t.Fatalf("dropped %d after shutdown, want 4", d)
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestBadBatchSplit: a bad item is found by halving; the others land, in
// order, and the next batch is not held up.
func TestBadBatchSplit(t *testing.T) {
	r := &rec{fail: func(b Batch[int]) error {
		if slices.Contains(b.Items, 5) {
			return BadBatch(errors.New("bad 5"))
		}
		return nil
	}}
	b := newB(t, Options{Size: 8, Queue: 100}, r)
	for i := range 12 {
		b.Add(i)
	}
	// The writer may have taken the first batch before Shutdown, which
	// then does not report its loss: TestShutdownReportsLoss does.
	_ = b.Shutdown(context.Background())
	want := []int{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11}
	if got := r.all(); !slices.Equal(got, want) {
		t.Fatalf("written %v, want %v", got, want)
	}
	if _, f, w := b.Counts(); f != 1 || w != 11 {
		t.Fatalf("failed %d written %d", f, w)
	}
}

// TestShutdownReportsLoss: items queued before Shutdown that cannot be
// written make it return an error naming them.
func TestShutdownReportsLoss(t *testing.T) {
	r := &rec{fail: func(b Batch[int]) error {
		if slices.Contains(b.Items, 1) {
			return BadBatch(errors.New("bad 1"))
		}
		return nil
	}}
	b := newB(t, Options{Size: 100}, r) // no full batch: Shutdown writes them
	for i := range 3 {
		b.Add(i)
	}
	if err := b.Shutdown(context.Background()); err == nil || err.Error() != "1 items not written: bad 1" {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := r.all(); !slices.Equal(got, []int{0, 2}) {
		t.Fatalf("written %v", got)
	}
}

// TestRetryThenGiveUp: a transient error is retried with the same batch
// id; after the attempts run out the batch is failed and the next lands.
func TestRetryThenGiveUp(t *testing.T) {
	var mu sync.Mutex
	ids := map[uint64][]int{}
	r := &rec{fail: func(b Batch[int]) error {
		mu.Lock()
		ids[b.ID] = append(ids[b.ID], b.Attempt)
		mu.Unlock()
		if b.Items[0] == 0 {
			return fmt.Errorf("down")
		}
		if b.Items[0] == 1 && b.Attempt < 2 {
			return fmt.Errorf("blip")
		}
		return nil
	}}
	b := newB(t, Options{Size: 1}, r)
	b.Add(0)
	b.Add(1)
	_ = b.Shutdown(context.Background())
	if got := r.all(); !slices.Equal(got, []int{1}) {
		t.Fatalf("written %v", got)
	}
	if _, f, w := b.Counts(); f != 1 || w != 1 {
		t.Fatalf("failed %d written %d", f, w)
	}
	if len(ids) != 2 {
		t.Fatalf("batch ids %v, want 2", ids)
	}
	for _, att := range ids {
		if !slices.Equal(att, []int{1, 2, 3}[:len(att)]) {
			t.Fatalf("attempts %v", att)
		}
	}
}

// TestShutdownDeadline: a writer stuck in a flush is abandoned when
// Shutdown's context ends; no goroutine is left.
func TestShutdownDeadline(t *testing.T) {
	r := &rec{fail: func(b Batch[int]) error { return errors.New("down") }}
	o := Options{Size: 1}
	o.Meter = noop.NewMeterProvider()
	o.Tick = make(chan time.Time)
	o.Retry = resilience.RetryPolicy{InitialInterval: time.Hour, MaxAttempts: -1, MaxElapsedTime: -1}
	attempted := make(chan struct{}, 1)
	o.OnAttempt = func(int, error) {
		select {
		case attempted <- struct{}{}:
		default:
		}
	}
	b, err := New(Names{"t", "t", "t"}, o, r.flush)
	if err != nil {
		t.Fatal(err)
	}
	b.Add(0)
	<-attempted
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown %v, want context.Canceled", err)
	}
	if _, f, _ := b.Counts(); f != 1 {
		t.Fatalf("failed %d, want 1", f)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Size: -1}, {Queue: 2, Size: 5}, {Interval: -1}, {Retry: resilience.RetryPolicy{Multiplier: 0.5}}} {
		if _, err := New(Names{}, o, (&rec{}).flush); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
