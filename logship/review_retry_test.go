package logship

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

// reviewItemFailsForever returns a sink refusing record e001, retryably,
// on every Write — until call limit, after which it takes it, so that a
// Shipper that would retry for ever ends and the test can say so.
func reviewItemFailsForever(limit int) *engineSink {
	sink := newEngineSink()
	sink.outcome = func(call int, batch []Record) (Result, error) {
		if call >= limit {
			return Result{}, nil
		}
		for i, r := range batch {
			if r.ID == "e001" {
				return Result{Failures: []Failure{{Index: i, Err: errors.New("429 too many"), Retryable: true}}}, nil
			}
		}
		return Result{}, nil
	}
	return sink
}

// A policy bounded by time only (MaxAttempts negative): a record the sink
// keeps refusing retryably is dead-lettered once MaxElapsedTime is up —
// with or without a disk buffer. It was dropped despite the dead-letter
// sink without a buffer, and retried for ever with one (§6: no record is
// retried for ever).
func TestReviewItemRetriesEndByElapsedTime(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "buffer"}[buffered], func(t *testing.T) {
			engineNoLeaks(t)
			const limit = 50
			sink := reviewItemFailsForever(limit)
			dlq := newEngineSink()
			opts := []Option{WithDeadLetter(dlq), engineNoSleep,
				// Any wait is past 1ns: the first retry is already out of time.
				WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: -1, MaxElapsedTime: time.Nanosecond, NoJitter: true})}
			if buffered {
				opts = append(opts, WithBuffer(t.TempDir()))
			}
			s := engineShipper(t, sink, nil, opts...)
			for i := range 3 {
				s.submit(context.Background(), engineRecord(i))
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(sink.calls) >= limit {
				t.Fatalf("e001 written %d times: retried for ever", len(sink.calls))
			}
			if got := dlq.gotIDs(); !slices.Equal(got, []string{"e001"}) {
				t.Fatalf("dead letters %v (retries_exhausted drops %d)", got, engineDropped(s, reasonRetriesExhausted))
			}
			if !strings.Contains(string(dlq.got[0].JSON), "429 too many") {
				t.Fatalf("dead letter does not say why: %s", dlq.got[0].JSON)
			}
			if got := sink.gotIDs(); !slices.Equal(got, []string{"e000", "e002"}) {
				t.Fatalf("delivered %v", got)
			}
		})
	}
}

// A retry policy with neither attempts nor time bounded would retry a
// record the sink keeps refusing for ever, holding up every record behind
// it (§6): WithRetry refuses it, naming both fields. It was accepted.
func TestReviewRetryPolicyUnbounded(t *testing.T) {
	_, err := NewShipper(newEngineSink(), WithRetry(resilience.RetryPolicy{MaxAttempts: -1, MaxElapsedTime: -1}))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "MaxAttempts") || !strings.Contains(err.Error(), "MaxElapsedTime") {
		t.Fatalf("NewShipper with an unbounded retry policy: %v", err)
	}
}
