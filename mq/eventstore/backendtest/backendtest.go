// Package backendtest is the contract every eventstore.Backend must
// pass, as a library: a backend's tests call Run with a Harness that
// makes fresh backends on a real server. The suite drives the backend
// through an eventstore.Store over an in-process (memmq) bus that records
// what was published, and directly where the Store would hide a case.
package backendtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/eventstore"
)

// Harness makes the backends under test.
type Harness struct {
	// New returns a new, empty backend, not attached to a bus, whose
	// streams no other backend of the run shares. The suite closes it.
	New func(t testing.TB) eventstore.Backend
}

// Run runs the contract over backends made by h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Versions", testVersions},
		{"Conflict", testConflict},
		{"AtomicBatch", testAtomicBatch},
		{"AnnounceFailureStoresNothing", testAnnounceFailure},
		{"LoadAfterLimit", testLoadAfterLimit},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Published", testPublished},
		{"FailedAppendPublishesNothing", testFailedAppendPublishesNothing},
		{"BusOutage", testBusOutage},
		{"ShutdownPublishesPending", testShutdown},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// open returns a Store on a fresh backend, its backend and its bus's
// recorder. The Store is closed when t ends.
func open(t *testing.T, h Harness, opts ...eventstore.Option) (*eventstore.Store, eventstore.Backend, *Recorder) {
	t.Helper()
	bus, rec := NewBus(t)
	b := h.New(t)
	s, err := eventstore.New(b, bus, opts...)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, b, rec
}

func ev(typ string, i int) eventstore.Event {
	return eventstore.Event{Type: typ, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
}

func mustAppend(t testing.TB, s *eventstore.Store, agg string, expected uint64, evs ...eventstore.Event) uint64 {
	t.Helper()
	v, err := s.Append(context.Background(), agg, expected, evs...)
	if err != nil {
		t.Fatalf("Append(%q, %d): %v", agg, expected, err)
	}
	return v
}

func mustLoad(t testing.TB, s *eventstore.Store, agg string, after uint64) []eventstore.Event {
	t.Helper()
	evs, err := s.Load(context.Background(), agg, after)
	if err != nil {
		t.Fatalf("Load(%q, %d): %v", agg, after, err)
	}
	return evs
}

// contiguous fails t unless evs have versions from+1, from+2, ...
func contiguous(t testing.TB, evs []eventstore.Event, from uint64) {
	t.Helper()
	for i, e := range evs {
		if e.Version != from+uint64(i)+1 {
			t.Fatalf("event %d has version %d, want %d", i, e.Version, from+uint64(i)+1)
		}
	}
}

func testVersions(t *testing.T, h Harness) {
	s, _, _ := open(t, h)
	if v := mustAppend(t, s, "a", 0, ev("created", 1)); v != 1 {
		t.Fatalf("first Append returned %d, want 1", v)
	}
	if v := mustAppend(t, s, "a", 1, ev("x", 2), ev("y", 3)); v != 3 {
		t.Fatalf("second Append returned %d, want 3", v)
	}
	if v := mustAppend(t, s, "a", eventstore.Any, ev("z", 4)); v != 4 {
		t.Fatalf("Append(Any) returned %d, want 4", v)
	}
	if v := mustAppend(t, s, "fresh", eventstore.Any, ev("z", 1)); v != 1 {
		t.Fatalf("Append(Any) to a new stream returned %d, want 1", v)
	}
	evs := mustLoad(t, s, "a", 0)
	if len(evs) != 4 {
		t.Fatalf("loaded %d events, want 4", len(evs))
	}
	contiguous(t, evs, 0)
	for i, want := range []string{"created", "x", "y", "z"} {
		e := evs[i]
		if e.Type != want || e.Aggregate != "a" || e.ID == "" || e.Time.IsZero() || e.Time.Location().String() != "UTC" {
			t.Fatalf("event %d = %+v, want type %s, aggregate a, an ID and a UTC time", i, e, want)
		}
		if string(e.Data) != fmt.Sprintf(`{"n":%d}`, i+1) {
			t.Fatalf("event %d data %s", i, e.Data)
		}
	}
	if evs := mustLoad(t, s, "unknown", 0); len(evs) != 0 {
		t.Fatalf("unknown aggregate: %d events", len(evs))
	}
	// What the caller gave is kept: ID, Time, Meta.
	in := eventstore.Event{ID: "given-id", Type: "t", Meta: map[string]string{"user": "ann"}, Time: evs[0].Time.Add(-7e9)}
	mustAppend(t, s, "b", 0, in)
	got := mustLoad(t, s, "b", 0)[0]
	if got.ID != in.ID || got.Meta["user"] != "ann" || !got.Time.Equal(in.Time) {
		t.Fatalf("stored %+v, given %+v", got, in)
	}
}

func testConflict(t *testing.T, h Harness) {
	s, _, _ := open(t, h)
	mustAppend(t, s, "a", 0, ev("t", 1), ev("t", 2))
	for _, expected := range []uint64{0, 1, 3, 1 << 63} {
		_, err := s.Append(context.Background(), "a", expected, ev("t", 9))
		var ce *eventstore.ConflictError
		if !errors.Is(err, eventstore.ErrConflict) || !errors.As(err, &ce) {
			t.Fatalf("Append at expected %d: %v, want a *ConflictError", expected, err)
		}
		if ce.Aggregate != "a" || ce.Expected != expected || ce.Actual != 2 {
			t.Fatalf("conflict %+v, want aggregate a, expected %d, actual 2", ce, expected)
		}
	}
	_, err := s.Append(context.Background(), "new", 5, ev("t", 1))
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 0 {
		t.Fatalf("Append to a new stream at 5: %v, want a conflict naming actual 0", err)
	}
	if n := len(mustLoad(t, s, "a", 0)); n != 2 {
		t.Fatalf("%d events after the conflicts, want 2", n)
	}
	if n := len(mustLoad(t, s, "new", 0)); n != 0 {
		t.Fatalf("%d events in the stream a conflict refused, want 0", n)
	}
}

// testAtomicBatch: an Append whose third event cannot be stored (its ID
// is taken) stores none of its events, and the stream stays usable.
func testAtomicBatch(t *testing.T, h Harness) {
	s, _, rec := open(t, h)
	mustAppend(t, s, "a", 0, eventstore.Event{ID: "taken", Type: "t"})
	_, err := s.Append(context.Background(), "b", 0, ev("t", 1), ev("t", 2), eventstore.Event{ID: "taken", Type: "t"}, ev("t", 4))
	if !errors.Is(err, eventstore.ErrDuplicate) {
		t.Fatalf("Append with a taken ID: %v, want ErrDuplicate", err)
	}
	if n := len(mustLoad(t, s, "b", 0)); n != 0 {
		t.Fatalf("%d events of the failed batch stored, want 0", n)
	}
	if v := mustAppend(t, s, "b", 0, ev("t", 1)); v != 1 {
		t.Fatalf("Append after the failed batch returned %d, want 1", v)
	}
	rec.Wait(t, "two events", func(log []driver.Message, _ int) bool { return len(log) >= 2 })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if log := rec.Log(); len(log) != 2 {
		t.Fatalf("published %d messages, want 2 (none of the failed batch)", len(log))
	}
}

// testAnnounceFailure: the backend stores nothing when the messages of
// the events cannot be had.
func testAnnounceFailure(t *testing.T, h Harness) {
	_, b, _ := open(t, h)
	boom := errors.New("boom")
	evs := []eventstore.Event{{ID: "x1", Aggregate: "a", Type: "t"}, {ID: "x2", Aggregate: "a", Type: "t"}}
	_, err := b.Append(context.Background(), "a", 0, evs, func([]eventstore.Event) ([]*mq.Message, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Append: %v, want the announce error", err)
	}
	got, err := b.Load(context.Background(), "a", 0, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("Load after a failed Append: %d events, %v; want none", len(got), err)
	}
}

func testLoadAfterLimit(t *testing.T, h Harness) {
	s, b, _ := open(t, h)
	for i := range 10 {
		mustAppend(t, s, "a", uint64(i), ev("t", i+1))
	}
	evs := mustLoad(t, s, "a", 4)
	if len(evs) != 6 {
		t.Fatalf("Load after 4: %d events, want 6", len(evs))
	}
	contiguous(t, evs, 4)
	if evs := mustLoad(t, s, "a", 10); len(evs) != 0 {
		t.Fatalf("Load after the last: %d events", len(evs))
	}
	if evs := mustLoad(t, s, "a", 1<<63); len(evs) != 0 {
		t.Fatalf("Load after 2^63: %d events", len(evs))
	}
	ctx := context.Background()
	for _, c := range []struct {
		after uint64
		limit int
		want  int
	}{{0, 3, 3}, {3, 3, 3}, {8, 3, 2}, {0, 0, 10}, {2, -1, 8}} {
		got, err := b.Load(ctx, "a", c.after, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Fatalf("Load(after %d, limit %d): %d events, want %d", c.after, c.limit, len(got), c.want)
		}
		contiguous(t, got, c.after)
	}
}

// testConcurrentAppends: 8 writers append to one aggregate, each reading
// the actual version from the conflicts it gets: versions contiguous,
// the 7 first-round losers told so, nothing lost, each event published
// once in version order.
func testConcurrentAppends(t *testing.T, h Harness) {
	const writers, each = 8, 10
	s, _, rec := open(t, h)
	ctx := context.Background()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var expected uint64
			for i := 0; i < each; {
				e := eventstore.Event{ID: fmt.Sprintf("w%d-%d", w, i), Type: "t"}
				v, err := s.Append(ctx, "one", expected, e)
				var ce *eventstore.ConflictError
				switch {
				case err == nil:
					expected = v
					i++
				case errors.As(err, &ce):
					if ce.Actual <= expected {
						errs <- fmt.Errorf("conflict at %d names actual %d", expected, ce.Actual)
						return
					}
					mu.Lock()
					conflicts++
					mu.Unlock()
					expected = ce.Actual
				default:
					errs <- err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if conflicts < writers-1 {
		t.Fatalf("%d conflicts reported, want at least %d (all started at 0)", conflicts, writers-1)
	}
	evs := mustLoad(t, s, "one", 0)
	if len(evs) != writers*each {
		t.Fatalf("%d events stored, want %d", len(evs), writers*each)
	}
	contiguous(t, evs, 0)
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.ID] = true
	}
	for w := range writers {
		for i := range each {
			if !ids[fmt.Sprintf("w%d-%d", w, i)] {
				t.Fatalf("event w%d-%d lost", w, i)
			}
		}
	}
	rec.Wait(t, "every event", func(log []driver.Message, _ int) bool { return len(log) >= len(evs) })
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	log := rec.Log()
	if len(log) != len(evs) {
		t.Fatalf("published %d messages, want %d", len(log), len(evs))
	}
	for i, m := range log {
		if m.ID != evs[i].ID || m.Headers[eventstore.HeaderEventVersion] != strconv.Itoa(i+1) {
			t.Fatalf("publish %d: ID %s version %s, want %s version %d", i, m.ID, m.Headers[eventstore.HeaderEventVersion], evs[i].ID, i+1)
		}
	}
}

// testPublished: every appended event is published once, under its ID,
// keyed by its aggregate, with its headers and Meta, in version order per
// aggregate.
func testPublished(t *testing.T, h Harness) {
	s, _, rec := open(t, h, eventstore.WithTopic("orders"))
	aggs := []string{"o-1", "o-2", "o-3"}
	for round := range 3 {
		for _, a := range aggs {
			e1, e2 := ev("placed", round), ev("paid", round)
			e2.Meta = map[string]string{"user": "ann"}
			mustAppend(t, s, a, uint64(2*round), e1, e2)
		}
	}
	want := map[string][]eventstore.Event{}
	total := 0
	for _, a := range aggs {
		want[a] = mustLoad(t, s, a, 0)
		total += len(want[a])
	}
	rec.Wait(t, "every event", func(log []driver.Message, _ int) bool { return len(log) >= total })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := rec.Log()
	if len(log) != total {
		t.Fatalf("published %d messages, want %d", len(log), total)
	}
	pos := map[string]int{}
	for _, m := range log {
		evs := want[m.Key]
		if m.Topic != "orders" || pos[m.Key] >= len(evs) {
			t.Fatalf("unexpected message %s on %q keyed %q", m.ID, m.Topic, m.Key)
		}
		e := evs[pos[m.Key]]
		pos[m.Key]++
		if m.ID != e.ID || string(m.Payload) != string(e.Data) || !m.Time.Equal(e.Time) {
			t.Fatalf("message %s (%s) for event %s (%s) of %s: out of order or wrong", m.ID, m.Payload, e.ID, e.Data, m.Key)
		}
		hd := m.Headers
		if hd[eventstore.HeaderEventType] != e.Type || hd[eventstore.HeaderAggregateID] != m.Key || hd[eventstore.HeaderEventVersion] != strconv.FormatUint(e.Version, 10) {
			t.Fatalf("message %s headers %v, want type %s, aggregate %s, version %d", m.ID, hd, e.Type, m.Key, e.Version)
		}
		if e.Type == "paid" && hd["user"] != "ann" {
			t.Fatalf("message %s lacks Meta user: %v", m.ID, hd)
		}
	}
}

// testFailedAppendPublishesNothing: an Append refused after its events
// were written (a message over the bus's size limit, found by the outbox
// check) stores and publishes nothing; later ones go.
func testFailedAppendPublishesNothing(t *testing.T, h Harness) {
	s, _, rec := open(t, h)
	big := eventstore.Event{Type: "t", Data: make([]byte, 2*maxBytes)}
	_, err := s.Append(context.Background(), "a", 0, ev("t", 1), big)
	if !errors.Is(err, mq.ErrTooLarge) {
		t.Fatalf("Append of a message over the limit: %v, want mq.ErrTooLarge", err)
	}
	if n := len(mustLoad(t, s, "a", 0)); n != 0 {
		t.Fatalf("%d events stored by the refused Append", n)
	}
	mustAppend(t, s, "a", 0, ev("t", 2))
	rec.Wait(t, "the later event", func(log []driver.Message, _ int) bool { return len(log) >= 1 })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if log := rec.Log(); len(log) != 1 || string(log[0].Payload) != `{"n":2}` {
		t.Fatalf("published %d messages (%v), want only the later event", len(log), log)
	}
}

// testBusOutage: events appended while the bus is unreachable are stored
// at once and published, in order, once it is back.
func testBusOutage(t *testing.T, h Harness) {
	s, _, rec := open(t, h)
	rec.Broker.SetReachable(false)
	for i := range 5 {
		mustAppend(t, s, "a", uint64(i), ev("t", i+1))
	}
	if n := len(mustLoad(t, s, "a", 0)); n != 5 {
		t.Fatalf("%d events stored during the outage, want 5", n)
	}
	rec.Wait(t, "failed publish attempts", func(_ []driver.Message, failures int) bool { return failures >= 2 })
	if n := len(rec.Log()); n != 0 {
		t.Fatalf("%d published while unreachable", n)
	}
	rec.Broker.SetReachable(true)
	rec.Wait(t, "every event", func(log []driver.Message, _ int) bool { return len(log) >= 5 })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, m := range rec.Log() {
		if m.Headers[eventstore.HeaderEventVersion] != strconv.Itoa(i+1) {
			t.Fatalf("publish %d is version %s", i, m.Headers[eventstore.HeaderEventVersion])
		}
	}
}

// testShutdown: Shutdown returns only once what was stored is published;
// afterwards every call is ErrClosed.
func testShutdown(t *testing.T, h Harness) {
	s, _, rec := open(t, h)
	rec.Broker.SetReachable(false)
	mustAppend(t, s, "a", 0, ev("t", 1), ev("t", 2), ev("t", 3))
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	rec.Wait(t, "failed publish attempts", func(_ []driver.Message, failures int) bool { return failures >= 1 })
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with the events unpublished", err)
	default:
	}
	rec.Broker.SetReachable(true)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(rec.Log()); n != 3 {
		t.Fatalf("published %d when Shutdown returned, want 3", n)
	}
	closedAfter(t, s)
}

// testClose: Close is idempotent, concurrent callers wait for the first,
// and every call afterwards is ErrClosed.
func testClose(t *testing.T, h Harness) {
	s, _, _ := open(t, h)
	mustAppend(t, s, "a", 0, ev("t", 1))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	wg.Wait()
	closedAfter(t, s)
}

func closedAfter(t *testing.T, s *eventstore.Store) {
	t.Helper()
	if _, err := s.Append(context.Background(), "a", eventstore.Any, ev("t", 1)); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("Append after close: %v, want ErrClosed", err)
	}
	if _, err := s.Load(context.Background(), "a", 0); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("Load after close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
}
