package logship

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// TestSlabConcurrent: pieces claimed by concurrent callers never overlap
// (run under -race: two callers writing one byte would be reported too),
// each has exactly the capacity asked for, and chunks are replaced as
// they fill.
func TestSlabConcurrent(t *testing.T) {
	var sl slab
	const goroutines, each = 8, 2000
	pieces := make([][][]byte, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := 1 + (g*131+i*17)%700 // a spread of sizes, chunk ends at odd places
				p := sl.alloc(n)
				if len(p) != n || cap(p) != n {
					t.Errorf("alloc(%d): len %d cap %d", n, len(p), cap(p))
					return
				}
				for j := range p {
					p[j] = byte(g*each + i)
				}
				pieces[g] = append(pieces[g], p)
			}
		}()
	}
	wg.Wait()
	total := 0
	for g, ps := range pieces {
		for i, p := range ps {
			total += len(p)
			want := byte(g*each + i)
			for _, c := range p {
				if c != want {
					t.Fatalf("goroutine %d piece %d overwritten: %d, want %d", g, i, c, want)
				}
			}
		}
	}
	if total <= 2*slabChunkSize {
		t.Fatalf("only %d bytes: the test did not cross chunks", total)
	}
}

// TestSlabChunkEnd: a piece that fits exactly at a chunk's end is taken
// from it; one byte more takes a new chunk, and the old chunk's pieces
// keep their bytes. No piece can be appended into its neighbour.
func TestSlabChunkEnd(t *testing.T) {
	var sl slab
	first := sl.alloc(100)
	c := sl.cur.Load()
	size := len(c.buf)
	if unsafe.Sizeof(*c) != slabChunkSize {
		t.Fatalf("a chunk is %d bytes, want %d: one allocation of the size class", unsafe.Sizeof(*c), slabChunkSize)
	}
	for left := size - 100; left > slabMaxRecord; left -= slabMaxRecord {
		sl.alloc(slabMaxRecord)
	}
	left := size - int(c.off.Load())
	last := sl.alloc(left)
	if sl.cur.Load() != c || c.off.Load() != int64(size) {
		t.Fatalf("a piece of exactly the %d bytes left did not end the chunk (offset %d)", left, c.off.Load())
	}
	if &last[len(last)-1] != &c.buf[size-1] {
		t.Fatal("the last piece does not end at the chunk's end")
	}
	copy(first, bytes.Repeat([]byte{'a'}, 100))
	copy(last, bytes.Repeat([]byte{'z'}, left))
	next := sl.alloc(1)
	if sl.cur.Load() == c {
		t.Fatal("a full chunk handed out another byte")
	}
	next[0] = 'n'
	if string(first) != string(bytes.Repeat([]byte{'a'}, 100)) || string(last) != string(bytes.Repeat([]byte{'z'}, left)) {
		t.Fatal("the old chunk's pieces changed")
	}
	if got := append(first, 'x'); &got[0] == &first[0] {
		t.Fatal("append to a piece wrote into the chunk")
	}
}

// TestSlabHugeRecord: a record over a quarter of a chunk gets its own
// allocation (the chunk is untouched), and is delivered whole.
func TestSlabHugeRecord(t *testing.T) {
	var sl slab
	sl.alloc(10)
	c := sl.cur.Load()
	huge := sl.alloc(slabMaxRecord + 1)
	if len(huge) != slabMaxRecord+1 || sl.cur.Load() != c || c.off.Load() != 10 {
		t.Fatalf("a huge piece came from the chunk (offset %d)", c.off.Load())
	}

	sink := newEngineSink()
	s := engineShipper(t, sink, nil, WithBatch(1, 1<<20, time.Hour))
	big := Record{ID: "big", Service: "orders", JSON: []byte(`{"message":"` + string(bytes.Repeat([]byte{'x'}, 3*slabChunkSize)) + `"}`)}
	want := string(big.JSON)
	s.submit(context.Background(), big)
	clear(big.JSON) // borrowed: the caller may reuse it at once
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 1 || string(sink.got[0].JSON) != want || sink.got[0].ID != "big" {
		t.Fatalf("huge record delivered as %d records", len(sink.got))
	}
}

// slabKeepSink keeps every record it is given as it is, without a copy,
// as the Sink contract allows, and fails the first Write's first record
// (retryably).
type slabKeepSink struct {
	mu    sync.Mutex
	calls int
	kept  []Record
	texts []string // each kept record's JSON as it was at Write
}

func (s *slabKeepSink) Write(_ context.Context, batch []Record) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, r := range batch {
		s.kept = append(s.kept, r)
		s.texts = append(s.texts, string(r.JSON))
	}
	if s.calls == 1 {
		return Result{Failures: []Failure{{Index: 0, Err: fmt.Errorf("busy"), Retryable: true}}}, nil
	}
	return Result{}, nil
}

func (s *slabKeepSink) Close(context.Context) error { return nil }

// TestSlabRetentionAcrossRetries: a record waiting for its retry while
// many more records (several chunks of them) go through keeps its bytes
// and is retried as it was; and a Sink that kept records' JSON without
// copying finds every one unchanged at the end.
func TestSlabRetentionAcrossRetries(t *testing.T) {
	engineNoLeaks(t)
	sink := &slabKeepSink{}
	gate, waiting := make(chan struct{}), make(chan struct{})
	retryWait := func(o *options) error {
		o.retryWait = func(ctx context.Context, _ time.Duration) {
			close(waiting)
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		return nil
	}
	s := engineShipper(t, sink, nil, WithBatch(3, 1<<20, time.Hour), WithQueue(100_000, DropNewest), retryWait)
	ctx := context.Background()
	rec := func(i int) Record {
		id := fmt.Sprintf("r%05d", i)
		return Record{ID: id, Service: "orders", JSON: fmt.Appendf(nil, `{"message":"record %d %s","event":{"id":%q}}`, i, bytes.Repeat([]byte{byte('a' + i%26)}, i%300), id)}
	}
	for i := range 3 {
		s.submit(ctx, rec(i))
	}
	<-waiting // record 0 failed and waits for its retry
	const more = 2000
	for i := 3; i < 3+more; i++ {
		r := rec(i)
		s.submit(ctx, r)
		clear(r.JSON) // what the Handler does with its pooled buffer
	}
	close(gate)
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	seen0 := 0
	for i, r := range sink.kept {
		if string(r.JSON) != sink.texts[i] {
			t.Fatalf("kept record %s changed after its Write: %q, was %q", r.ID, r.JSON, sink.texts[i])
		}
		if r.ID == "r00000" {
			seen0++
			if want := string(rec(0).JSON); string(r.JSON) != want {
				t.Fatalf("record 0 sent as %q, want %q", r.JSON, want)
			}
		}
	}
	if seen0 != 2 || len(sink.kept) != 3+more+1 {
		t.Fatalf("record 0 written %d times, %d writes in all; want 2 and %d", seen0, len(sink.kept), 3+more+1)
	}
}

// TestSlabRefusedTakesNoRoom: a record the full queue refuses is never
// copied, so the chunks hold queued records only, in queue order: what
// the queue pins is its own bytes and the ends of two chunks, not a
// chunk per admitted record among many dropped.
func TestSlabRefusedTakesNoRoom(t *testing.T) {
	var sl slab
	q := newQueue(&options{queueSize: 2, queueBytes: 1 << 20, batchCount: 2, batchBytes: 1 << 20})
	ctx := context.Background()
	r := engineRecord(1)
	for i := range 5 {
		_, ok, _, _ := q.push(ctx, r, -1, &sl, DropNewest, false)
		if ok != (i < 2) {
			t.Fatalf("push %d: ok %v", i, ok)
		}
	}
	if used, want := sl.cur.Load().off.Load(), int64(2*recordSize(r)); used != want {
		t.Fatalf("the chunk gave out %d bytes for 2 queued records of %d", used, recordSize(r))
	}
	got := q.take(nil, 10, 1<<20)
	if len(got) != 2 || unsafe.StringData(got[1].ID) != (*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(got[0].JSON)), len(got[0].JSON))) {
		t.Fatal("the queued copies are not one after the other in the chunk")
	}
}
