package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// deniedConn refuses every batch that holds a message for topic "denied"
// with an error the provider does not call retryable, as Redis refuses a
// user without the key in its ACL (NOPERM) or Kafka a producer without
// WRITE on the topic (TOPIC_AUTHORIZATION_FAILED).
type deniedConn struct{ *recorder }

func (d deniedConn) Publish(ctx context.Context, msgs []driver.Message) error {
	for _, m := range msgs {
		if m.Topic == "denied" {
			return errors.New("NOPERM this user has no permissions to access the 'denied' key")
		}
	}
	return d.recorder.Publish(ctx, msgs)
}

// TestNonRetryableBusErrorIsParked: a publish error the bus does not
// retry (neither unreachable nor circuit open) is a refusal for good: the
// row is marked failed with it and the rows after it in the partition go
// on (§6), rather than the relay retrying it for ever and holding back
// every key of its partition.
func TestNonRetryableBusErrorIsParked(t *testing.T) {
	_, rec := newBus(t)
	bus, err := mq.NewClient(deniedConn{rec}, mq.WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	// One key: one partition, the refused row first.
	enqueue(t, pool, ob, msg("denied", "k", 1), msg("t", "k", 2))
	run(t, ob)
	deadline := time.Now().Add(60 * time.Second)
	for len(rec.snapshot()) == 0 {
		if n := count(t, pool, "topic = 'denied' AND attempts >= 3 AND failed IS NULL"); n > 0 {
			t.Fatal("the refused row is retried again and again, holding back its partition")
		}
		if time.Now().After(deadline) {
			t.Fatal("the row after the refused one was never published")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if log := rec.snapshot(); string(log[0].Payload) != "k-2" {
		t.Fatalf("published %s", log[0].Payload)
	}
	waitRows(t, pool, "sent IS NULL AND failed IS NULL", 0)
	if n := count(t, pool, "failed IS NOT NULL AND topic = 'denied' AND last_error LIKE '%NOPERM%'"); n != 1 {
		t.Fatalf("%d failed rows with the error, want 1", n)
	}
	if _, failed, _, _ := ob.Counts(); failed != 1 {
		t.Fatalf("failed counter %d, want 1", failed)
	}
}

// TestEnqueueCarriesTheTraceContext: the trace context of Enqueue's ctx
// (the request that wrote the rows) travels in the published message's
// headers, as Publish's would (§3); the relay, publishing later from its
// own context, has none to give.
func TestEnqueueCarriesTheTraceContext(t *testing.T) {
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := msg("t", "k", 1)
	if err := ob.Enqueue(ctx, tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	run(t, ob)
	log := rec.wait(t, "the message", func(log []driver.Message) bool { return len(log) >= 1 })
	if got, want := log[0].Headers["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"; got != want {
		t.Fatalf("published traceparent %q, want %q", got, want)
	}
	if len(m.Headers) != 0 {
		t.Errorf("Enqueue changed the caller's headers: %v", m.Headers)
	}
}
