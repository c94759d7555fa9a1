package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
	"github.com/groundwork-go/groundwork/mq/eventstore"
	"github.com/groundwork-go/groundwork/mq/eventstore/backendtest"
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

// TestLoadUpcastsEventStoredWithoutSchemaVersion: an event of a type the
// registry knows, stored without a schema-version (appended before the
// Store had WithCodec), is version 1 as mq/codec reads a message without
// the header: Load upcasts it like the others instead of returning its v1
// shape among v2 ones.
func TestLoadUpcastsEventStoredWithoutSchemaVersion(t *testing.T) {
	ctx := context.Background()
	reg := placedRegistry(t)
	b := eventstore.NewMemoryBackend()
	s, _ := newStore(t, b, eventstore.WithCodec(reg))
	old := eventstore.Event{ID: "old", Aggregate: "o", Type: "placed", Data: []byte(`{"amount":7}`), Time: time.Now().UTC()}
	none := func([]eventstore.Event) ([]*mq.Message, error) { return nil, nil }
	if _, err := b.Append(ctx, "o", 0, []eventstore.Event{old}, none); err != nil {
		t.Fatal(err)
	}
	evs := mustLoadAll(t, s, "o")
	var p placedV2
	if len(evs) != 1 || json.Unmarshal(evs[0].Data, &p) != nil || p.Cents != 700 {
		t.Fatalf("loaded %s, want the v2 shape with 700 cents", evs[0].Data)
	}
	if evs[0].Meta[codec.HeaderSchemaVersion] != "2" {
		t.Fatalf("loaded Meta %v, want schema-version 2", evs[0].Meta)
	}
	// And what the backend keeps is not changed by the upcast.
	again, _ := b.Load(ctx, "o", 0, 0)
	if string(again[0].Data) != `{"amount":7}` || again[0].Meta != nil {
		t.Fatalf("stored event changed by Load: %s %v", again[0].Data, again[0].Meta)
	}
}

// TestPostgresShutdownAfterBusClosed: as TestShutdownAfterBusClosed, with
// the PostgreSQL backend: its outbox relay stops for good on the closed
// bus, and Shutdown says so rather than polling the outbox for ever.
func TestPostgresShutdownAfterBusClosed(t *testing.T) {
	bus, rec := backendtest.NewBus(t)
	s, err := eventstore.New(newPostgresBackend(t), bus, eventstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	rec.Broker.SetReachable(false)
	mustAppend(t, s, "a", eventstore.Event{Type: "t"})
	bus.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound for the broken case only
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("Shutdown with the bus closed: %v, want ErrClosed", err)
	}
}

// TestAppendRefusesTimeOutOfRange: a Time PostgreSQL cannot store (or
// RFC 3339 write) is ErrInvalid naming it, on both backends alike, rather
// than a PostgreSQL error on one and accepted by the other.
func TestAppendRefusesTimeOutOfRange(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) eventstore.Backend{
		"memory":   func(testing.TB) eventstore.Backend { return eventstore.NewMemoryBackend() },
		"postgres": newPostgresBackend,
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newStore(t, mk(t))
			far := time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
			_, err := s.Append(context.Background(), "a", 0, eventstore.Event{Type: "t", Time: far})
			if !errors.Is(err, eventstore.ErrInvalid) || !strings.Contains(err.Error(), "event 0: Time") {
				t.Fatalf("Append of a Time in year 300000: %v, want ErrInvalid naming event 0's Time", err)
			}
		})
	}
}
