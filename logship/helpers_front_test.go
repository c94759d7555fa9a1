package logship

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// frontSink captures what a Shipper delivers.
type frontSink struct {
	mu   sync.Mutex
	recs []Record
	s    *Shipper // set by frontShipper: all waits for what it accepted
}

func (s *frontSink) Write(_ context.Context, batch []Record) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range batch {
		r.JSON = append([]byte(nil), r.JSON...)
		s.recs = append(s.recs, r)
	}
	return Result{}, nil
}

func (s *frontSink) Close(context.Context) error { return nil }

// all returns the records delivered so far — once every record the
// Shipper accepted has been delivered (the engine writes from its own
// goroutine), or after a generous deadline.
func (s *frontSink) all() []Record {
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.recs)
		s.mu.Unlock()
		if s.s == nil || int64(n) >= s.s.tel.accepted.Load() || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.recs...)
}

func frontShipper(t testing.TB) (*Shipper, *frontSink) {
	t.Helper()
	sink := &frontSink{}
	s, err := NewShipper(sink, WithBatch(1, 1<<20, time.Second)) // each record written as it comes: tests read it back at once
	if err != nil {
		t.Fatal(err)
	}
	sink.s = s
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, sink
}

// frontDoc decodes r's document, failing on invalid JSON.
func frontDoc(t testing.TB, r Record) map[string]any {
	t.Helper()
	if !json.Valid(r.JSON) {
		t.Fatalf("invalid JSON: %s", r.JSON)
	}
	var m map[string]any
	if err := json.Unmarshal(r.JSON, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// frontLast returns the last record and its document.
func frontLast(t testing.TB, sink *frontSink) (Record, map[string]any) {
	t.Helper()
	recs := sink.all()
	if len(recs) == 0 {
		t.Fatal("no record delivered")
	}
	r := recs[len(recs)-1]
	return r, frontDoc(t, r)
}
