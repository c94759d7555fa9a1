package eventstore_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/eventstore"
)

// tracedCtx carries a valid remote span context, so that the bus's W3C
// propagator adds a traceparent header to what is published under it.
func tracedCtx() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

// TestTracedAppendAtSizeLimitIsPublishedOrRefused: an event whose message
// is exactly at the bus's size limit, appended under a trace context, is
// either refused by Append (ErrTooLarge, nothing stored) or published:
// never stored and then dropped by the relay because the trace headers
// pushed it over. The size check must count the trace headers the
// message is stored with; on both backends.
func TestTracedAppendAtSizeLimitIsPublishedOrRefused(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) eventstore.Backend{
		"memory":   func(testing.TB) eventstore.Backend { return eventstore.NewMemoryBackend() },
		"postgres": newPostgresBackend,
	} {
		t.Run(name, func(t *testing.T) {
			s, rec := newStore(t, mk(t), eventstore.WithLogger(slog.New(slog.DiscardHandler)))
			// Size: ID "e1" (2) + Key "a" (1) + headers event-type=t (11),
			// aggregate-id=a (13), event-version=1 (14) + payload = 4096.
			e := eventstore.Event{ID: "e1", Type: "t", Data: make([]byte, 4096-41)}
			_, err := s.Append(tracedCtx(), "a", 0, e)
			if err != nil {
				if !errors.Is(err, mq.ErrTooLarge) {
					t.Fatalf("Append: %v, want nil or mq.ErrTooLarge", err)
				}
				if evs := mustLoadAll(t, s, "a"); len(evs) != 0 {
					t.Fatalf("Append refused, yet %d events stored", len(evs))
				}
				return
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if log := rec.Log(); len(log) != 1 || log[0].ID != "e1" {
				t.Fatalf("event e1 stored but published %d messages: lost", len(log))
			}
		})
	}
}
