package logship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
)

// countingSink counts the Writes that reach next.
type countingSink struct {
	next   Sink
	writes atomic.Int64
}

func (s *countingSink) Write(ctx context.Context, b []Record) (Result, error) {
	s.writes.Add(1)
	return s.next.Write(ctx, b)
}
func (s *countingSink) Close(ctx context.Context) error { return s.next.Close(ctx) }

// TestSinkPermanentDeadLetters: through a Shipper, MQSink on a closed
// client and a FileSink that could not be made refuse the whole batch
// with a Permanent error: written once (no retry), every record
// dead-lettered with the reason, none dropped.
func TestSinkPermanentDeadLetters(t *testing.T) {
	mqfileLeakCheck(t)
	closed, err := mq.Open(context.Background(), "mem://sink-permanent-e2e")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for name, tc := range map[string]struct {
		sink   Sink
		reason string
	}{
		"MQSink closed client": {MQSink(closed, "logs"), "closed"},
		"FileSink no dir":      {FileSink(filepath.Join(t.TempDir(), "nope", "a.log"), Rotation{}), "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			cs := &countingSink{next: tc.sink}
			dead := newEngineSink()
			s := engineShipper(t, cs, nil, WithDeadLetter(dead))
			for i := range 3 {
				s.submit(context.Background(), engineRecord(i))
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := cs.writes.Load(); n != 1 {
				t.Errorf("%d Writes to the sink, want 1: a permanent refusal is not retried", n)
			}
			got := dead.got
			if len(got) != 3 {
				t.Fatalf("%d records dead-lettered, want 3", len(got))
			}
			for _, r := range got {
				var doc map[string]json.RawMessage
				if err := json.Unmarshal(r.JSON, &doc); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(doc[DeadLetterField]), tc.reason) {
					t.Errorf("dead letter %s: reason %s, want it to name %q", r.ID, doc[DeadLetterField], tc.reason)
				}
			}
			for r := range numReasons {
				if n := engineDropped(s, r); n != 0 {
					t.Errorf("%d records dropped (%s)", n, r)
				}
			}
		})
	}
}

// TestAlertingSinkPermanentBatch: a whole batch refused for good
// (Permanent) is dead-lettered, so the Alerter observes its records once,
// as it does per-record permanent Failures; a retryable whole error is
// still not observed.
func TestAlertingSinkPermanentBatch(t *testing.T) {
	r := newAlertRig(t, AlertOptions{})
	at := r.stepStart(0)
	batch := make([]Record, 3)
	for i := range batch {
		batch[i] = Record{ID: fmt.Sprint(i), Service: "s", Time: at, Level: slog.LevelError}
	}
	next := &alertFakeSink{results: []alertFakeResult{
		{err: errors.New("503")},
		{err: Permanent(ErrInvalid)},
	}}
	s := AlertingSink(next, r.a)
	if _, err := s.Write(context.Background(), batch); err == nil || isPermanent(err) {
		t.Fatalf("retryable: Write = %v", err)
	}
	if _, err := s.Write(context.Background(), batch); !isPermanent(err) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("permanent: Write = %v, want the Permanent error passed through", err)
	}
	if total, _ := r.series("s").window(r.a.bucket(at)+1, 1); total != 3 {
		t.Fatalf("observed %d records, want 3: the permanently refused batch, once", total)
	}
}
