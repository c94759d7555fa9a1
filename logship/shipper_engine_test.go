package logship

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

func TestShipperBatchesByCountAndInterval(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	tick := make(chan time.Time)
	s := engineShipper(t, sink, tick)
	for i := range 7 {
		r := engineRecord(i)
		s.submit(context.Background(), r)
		copy(r.JSON, "XXXXXXXX") // borrowed: the Shipper must have copied it
	}
	if got := sink.nextWrite(t); !slices.Equal(got, []string{"e000", "e001", "e002"}) {
		t.Fatalf("first batch %v", got)
	}
	if got := sink.nextWrite(t); !slices.Equal(got, []string{"e003", "e004", "e005"}) {
		t.Fatalf("second batch %v", got)
	}
	tick <- time.Now() // the interval is up: the last, partial batch goes
	if got := sink.nextWrite(t); !slices.Equal(got, []string{"e006"}) {
		t.Fatalf("interval batch %v", got)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, r := range sink.got {
		want := engineRecord(i)
		if string(r.JSON) != string(want.JSON) || r.ID != want.ID || r.Service != want.Service || !r.Time.Equal(want.Time) {
			t.Errorf("record %d: got %+v, want %+v", i, r, want)
		}
	}
	if sink.closed != 1 {
		t.Errorf("sink closed %d times", sink.closed)
	}
}

func TestShipperBatchesByBytes(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	r := engineRecord(0)
	size := recordSize(r)
	s := engineShipper(t, sink, nil, WithBatch(100, 2*size, time.Hour))
	for i := range 4 {
		s.submit(context.Background(), engineRecord(i))
	}
	if got := sink.nextWrite(t); len(got) != 2 {
		t.Fatalf("a batch of %d records; want 2 by bytes", len(got))
	}
	if got := sink.nextWrite(t); len(got) != 2 {
		t.Fatalf("a batch of %d records; want 2 by bytes", len(got))
	}
}

func TestShipperOptionsInvalid(t *testing.T) {
	sink := newEngineSink()
	for _, tc := range []struct {
		opt  []Option
		want string
	}{
		{[]Option{WithBatch(0, 1, time.Second)}, "WithBatch count"},
		{[]Option{WithBatch(1, 0, time.Second)}, "WithBatch bytes"},
		{[]Option{WithBatch(1, 1, 0)}, "WithBatch interval"},
		{[]Option{WithQueue(0, DropNewest)}, "WithQueue size"},
		{[]Option{WithQueue(10, Block(0))}, "Block(0s)"},
		{[]Option{WithQueue(10, QueuePolicy{kind: 9})}, "unknown policy"},
		{[]Option{WithQueueBytes(0)}, "WithQueueBytes"},
		{[]Option{WithRetry(resilience.RetryPolicy{Jitter: 2})}, "Jitter"},
		{[]Option{WithDeadLetter(nil)}, "WithDeadLetter"},
		{[]Option{WithBuffer("")}, "WithBuffer"},
		{[]Option{WithBufferSync(SyncPolicy(7), 0)}, "WithBufferSync"},
		{[]Option{WithBufferSync(SyncInterval, -1)}, "WithBufferSync interval"},
		{[]Option{WithBufferMaxBytes(0)}, "WithBufferMaxBytes"},
		{[]Option{WithLogger(nil)}, "WithLogger"},
		{[]Option{WithMeterProvider(nil)}, "WithMeterProvider"},
		{[]Option{WithErrorHandler(nil)}, "WithErrorHandler"},
		{[]Option{WithBuffer(t.TempDir()), WithQueue(10, DropOldest)}, "DropOldest"},
		{[]Option{WithQueue(10, DropNewest), WithBatch(11, 1, time.Second)}, "over the queue size"},
	} {
		_, err := NewShipper(sink, tc.opt...)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v", tc.want, err)
		}
	}
	if _, err := NewShipper(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil sink: %v", err)
	}
}

// holdingSink returns a sink whose Writes wait until release is called,
// and a Shipper on it whose first record is already held in a Write, so
// that what the test submits next waits in the queue.
func holdingShipper(t *testing.T, opts ...Option) (*Shipper, *engineSink, func()) {
	t.Helper()
	sink := newEngineSink()
	hold := make(chan struct{})
	sink.hold = hold
	s := engineShipper(t, sink, nil, append([]Option{WithBatch(1, 1<<20, time.Hour)}, opts...)...)
	s.submit(context.Background(), engineRecord(100))
	// The goroutine took record 100 off the queue when the queue is empty.
	waitFor(t, func() bool { n, _ := s.q.stats(); return n == 0 })
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // before the Shutdown engineShipper registered
	return s, sink, release
}

// waitFor polls cond: only for state the code under test reaches without
// the test's help, with a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestShipperDropNewest(t *testing.T) {
	engineNoLeaks(t)
	var reported []error
	var mu sync.Mutex
	s, sink, release := holdingShipper(t, WithQueue(2, DropNewest), WithErrorHandler(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	for i := range 4 {
		s.submit(context.Background(), engineRecord(i))
	}
	if got := engineDropped(s, reasonQueueFull); got != 2 {
		t.Fatalf("dropped %d, want 2", got)
	}
	release()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e100", "e000", "e001"}) {
		t.Fatalf("delivered %v", got)
	}
	if len(reported) != 2 || !errors.Is(reported[0], ErrDropped) || !strings.Contains(reported[0].Error(), `queue_full: record "e002"`) {
		t.Fatalf("reported %v", reported)
	}
}

func TestShipperDropOldest(t *testing.T) {
	engineNoLeaks(t)
	s, sink, release := holdingShipper(t, WithQueue(2, DropOldest))
	for i := range 5 {
		s.submit(context.Background(), engineRecord(i))
	}
	if got := engineDropped(s, reasonEvicted); got != 3 {
		t.Fatalf("evicted %d, want 3", got)
	}
	release()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e100", "e003", "e004"}) {
		t.Fatalf("delivered %v", got)
	}
}

func TestShipperQueueBytesBound(t *testing.T) {
	engineNoLeaks(t)
	size := recordSize(engineRecord(0))
	s, _, release := holdingShipper(t, WithQueue(100, DropNewest), WithQueueBytes(2*size))
	for i := range 4 {
		s.submit(context.Background(), engineRecord(i))
	}
	if got := engineDropped(s, reasonQueueFull); got != 2 {
		t.Fatalf("dropped %d by bytes, want 2", got)
	}
	big := engineRecord(9)
	big.JSON = make([]byte, 3*size)
	s.submit(context.Background(), big)
	if got := engineDropped(s, reasonTooLarge); got != 1 {
		t.Fatalf("too_large %d, want 1", got)
	}
	release()
}

func TestShipperBlockWaitsForRoomThenDrops(t *testing.T) {
	engineNoLeaks(t)
	s, sink, release := holdingShipper(t, WithQueue(1, Block(time.Hour)))
	s.submit(context.Background(), engineRecord(0)) // fills the queue
	submitted := make(chan struct{})
	go func() {
		s.submit(context.Background(), engineRecord(1)) // waits for room
		close(submitted)
	}()
	select {
	case <-submitted:
		t.Fatal("submit did not wait for room")
	default:
	}
	release() // the sink takes 100, the goroutine takes 0: room for 1
	<-submitted
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e100", "e000", "e001"}) {
		t.Fatalf("delivered %v", got)
	}

	// A deadline that passes drops the record, counted; so does the
	// caller's context.
	s2, _, release2 := holdingShipper(t, WithQueue(1, Block(time.Millisecond)))
	defer release2()
	s2.submit(context.Background(), engineRecord(0))
	s2.submit(context.Background(), engineRecord(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s2.submit(ctx, engineRecord(2))
	if got := engineDropped(s2, reasonBlockTimeout); got != 2 {
		t.Fatalf("block_timeout %d, want 2", got)
	}
}

// A caller blocked on a full queue is let go by Shutdown, its record
// counted as closed.
func TestShipperShutdownWakesBlockedCaller(t *testing.T) {
	engineNoLeaks(t)
	s, _, release := holdingShipper(t, WithQueue(1, Block(time.Hour)))
	s.submit(context.Background(), engineRecord(0))
	done := make(chan struct{})
	go func() {
		s.submit(context.Background(), engineRecord(1))
		close(done)
	}()
	waitFor(t, func() bool { s.q.mu.Lock(); defer s.q.mu.Unlock(); return s.q.space != nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give up at once: the held Write is aborted
	err := s.Shutdown(ctx)
	<-done
	release()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	if engineDropped(s, reasonClosed) != 1 || engineDropped(s, reasonShutdown) != 2 {
		t.Fatalf("closed %d (want 1), shutdown %d (want 2: the held record and the queued one)",
			engineDropped(s, reasonClosed), engineDropped(s, reasonShutdown))
	}
}

func TestShipperRetriesOnlyFailedItems(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	sink.outcome = func(call int, batch []Record) (Result, error) {
		if call == 0 {
			return Result{Failures: []Failure{
				{Index: 1, Err: errors.New("429 too many"), Retryable: true},
				{Index: 2, Err: errors.New("mapper_parsing_exception"), Retryable: false},
			}}, nil
		}
		return Result{}, nil
	}
	dlq := newEngineSink()
	s := engineShipper(t, sink, nil, WithDeadLetter(dlq), engineNoSleep)
	for i := range 3 {
		s.submit(context.Background(), engineRecord(i))
	}
	if got := sink.nextWrite(t); len(got) != 3 {
		t.Fatalf("first write %v", got)
	}
	if got := sink.nextWrite(t); !slices.Equal(got, []string{"e001"}) {
		t.Fatalf("retry wrote %v, want only the retryable failure", got)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e000", "e001"}) {
		t.Fatalf("delivered %v", got)
	}
	if len(dlq.got) != 1 || dlq.got[0].ID != "e002" {
		t.Fatalf("dead letters %v", dlq.gotIDs())
	}
	var doc map[string]any
	if err := json.Unmarshal(dlq.got[0].JSON, &doc); err != nil {
		t.Fatalf("dead letter JSON %s: %v", dlq.got[0].JSON, err)
	}
	dl, _ := doc[DeadLetterField].(map[string]any)
	if dl["reason"] != "mapper_parsing_exception" || dl["attempts"] != 1.0 || doc["message"] != "m2" {
		t.Fatalf("dead letter %s", dlq.got[0].JSON)
	}
	if s.tel.delivered.Load() != 2 || s.tel.deadLettered.Load() != 1 || s.tel.retries.Load() != 1 || dlq.closed != 1 {
		t.Fatalf("delivered %d dead-lettered %d retries %d", s.tel.delivered.Load(), s.tel.deadLettered.Load(), s.tel.retries.Load())
	}
}

// A record whose item keeps failing retryably is dead-lettered once its
// attempts are used up: it does not loop for ever.
func TestShipperItemRetriesEnd(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	sink.outcome = func(call int, batch []Record) (Result, error) {
		for i, r := range batch {
			if r.ID == "e001" {
				return Result{Failures: []Failure{{Index: i, Err: errors.New("503"), Retryable: true}}}, nil
			}
		}
		return Result{}, nil
	}
	dlq := newEngineSink()
	s := engineShipper(t, sink, nil, WithDeadLetter(dlq), engineNoSleep)
	for i := range 3 {
		s.submit(context.Background(), engineRecord(i))
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.calls) != 3 { // MaxAttempts 3: the batch, then e001 twice
		t.Fatalf("writes %v", sink.calls)
	}
	if got := dlq.gotIDs(); !slices.Equal(got, []string{"e001"}) {
		t.Fatalf("dead letters %v", got)
	}
	if !strings.Contains(string(dlq.got[0].JSON), "gave up after 3 attempts: 503") {
		t.Fatalf("dead letter %s", dlq.got[0].JSON)
	}
}

func TestShipperWholeRequestRetriesThenDrops(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	sink.outcome = func(int, []Record) (Result, error) { return Result{}, errEngineDown }
	s := engineShipper(t, sink, nil, engineNoSleep)
	for i := range 3 {
		s.submit(context.Background(), engineRecord(i))
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.calls) != 3 {
		t.Fatalf("writes %d, want MaxAttempts 3", len(sink.calls))
	}
	if engineDropped(s, reasonRetriesExhausted) != 3 || s.tel.retries.Load() != 6 {
		t.Fatalf("retries_exhausted %d retries %d", engineDropped(s, reasonRetriesExhausted), s.tel.retries.Load())
	}
}

func TestShipperPermanentWithoutDeadLetter(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	sink.outcome = func(int, []Record) (Result, error) { return Result{}, Permanent(errors.New("400 bad request")) }
	s := engineShipper(t, sink, nil, engineNoSleep)
	for i := range 3 {
		s.submit(context.Background(), engineRecord(i))
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.calls) != 1 || engineDropped(s, reasonPermanent) != 3 {
		t.Fatalf("writes %d (want 1), permanent drops %d (want 3)", len(sink.calls), engineDropped(s, reasonPermanent))
	}
}

// A Sink that panics costs the batch (dropped, counted), not the process
// nor the Shipper.
func TestShipperSinkPanic(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	sink.outcome = func(call int, batch []Record) (Result, error) {
		if call == 0 {
			panic("boom")
		}
		return Result{}, nil
	}
	s := engineShipper(t, sink, nil, engineNoSleep)
	for i := range 6 {
		s.submit(context.Background(), engineRecord(i))
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e003", "e004", "e005"}) || engineDropped(s, reasonPermanent) != 3 {
		t.Fatalf("delivered %v, permanent drops %d", got, engineDropped(s, reasonPermanent))
	}
}

func TestShipperShutdownIdempotentThenClosed(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	var got error
	s := engineShipper(t, sink, nil, WithErrorHandler(func(err error) { got = err }))
	s.submit(context.Background(), engineRecord(0))
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e000"}) {
		t.Fatalf("flushed %v", got)
	}
	s.submit(context.Background(), engineRecord(1))
	if !errors.Is(got, ErrClosed) || engineDropped(s, reasonClosed) != 1 || sink.closed != 1 {
		t.Fatalf("after Shutdown: %v, closed drops %d, sink closed %d", got, engineDropped(s, reasonClosed), sink.closed)
	}
}

func TestDeadLetterReasonJSON(t *testing.T) {
	for _, in := range []string{`{"a":1}`, `{}`, ` { "a" : "x" } `, `not json`, `[1]`, ``} {
		r := withDeadLetterReason(Record{ID: "x", JSON: []byte(in)}, errors.New(`bad "quote"`), 2)
		var doc map[string]any
		if err := json.Unmarshal(r.JSON, &doc); err != nil {
			t.Errorf("%q: %s: %v", in, r.JSON, err)
			continue
		}
		if dl, _ := doc[DeadLetterField].(map[string]any); dl["reason"] != `bad "quote"` {
			t.Errorf("%q: %s", in, r.JSON)
		}
	}
}

func BenchmarkSubmit(b *testing.B) {
	for _, buffered := range []bool{false, true} {
		name := "memory"
		opts := []Option{WithQueue(1_000_000, DropNewest), WithQueueBytes(1 << 30), WithBatch(1000, 1<<20, time.Second), WithLogger(slog.New(slog.DiscardHandler))}
		if buffered {
			name = "buffer"
			opts = append(opts, WithBuffer(b.TempDir()))
		}
		b.Run(name, func(b *testing.B) {
			s, err := NewShipper(discardSink{}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			r := engineRecord(1)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s.submit(context.Background(), r)
			}
			b.StopTimer()
			_ = s.Shutdown(context.Background())
		})
	}
}
