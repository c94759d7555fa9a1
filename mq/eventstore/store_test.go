package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/eventstore"
	"github.com/groundwork-go/groundwork/mq/eventstore/backendtest"
)

func newStore(t testing.TB, b eventstore.Backend, opts ...eventstore.Option) (*eventstore.Store, *backendtest.Recorder) {
	t.Helper()
	bus, rec := backendtest.NewBus(t)
	s, err := eventstore.New(b, bus, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// TestAppendRefusesBadInput: bad names and Meta are ErrInvalid naming
// the field, and nothing is stored.
func TestAppendRefusesBadInput(t *testing.T) {
	s, _ := newStore(t, eventstore.NewMemoryBackend())
	ctx := context.Background()
	long := strings.Repeat("x", 256)
	cases := []struct {
		name, agg string
		evs       []eventstore.Event
		want      string
	}{
		{"empty aggregate", "", []eventstore.Event{{Type: "t"}}, "aggregate is empty"},
		{"long aggregate", long, []eventstore.Event{{Type: "t"}}, "over 255"},
		{"aggregate not UTF-8", "a\xff", []eventstore.Event{{Type: "t"}}, "not valid UTF-8"},
		{"aggregate with NUL", "a\x00b", []eventstore.Event{{Type: "t"}}, "NUL"},
		{"no events", "a", nil, "no events"},
		{"empty type", "a", []eventstore.Event{{Type: "t"}, {}}, "event 1: Type is empty"},
		{"long type", "a", []eventstore.Event{{Type: long}}, "event 0: Type"},
		{"ID with NUL", "a", []eventstore.Event{{Type: "t", ID: "\x00"}}, "event 0: ID"},
		{"reserved Meta", "a", []eventstore.Event{{Type: "t", Meta: map[string]string{"Event-Version": "9"}}}, "reserved"},
		{"mq- Meta", "a", []eventstore.Event{{Type: "t", Meta: map[string]string{"mq-dlq-error": "x"}}}, "reserved"},
		{"codec Meta", "a", []eventstore.Event{{Type: "t", Meta: map[string]string{"schema-version": "1"}}}, "reserved"},
		{"trace Meta", "a", []eventstore.Event{{Type: "t", Meta: map[string]string{"traceparent": "x"}}}, "reserved"},
		{"empty Meta key", "a", []eventstore.Event{{Type: "t", Meta: map[string]string{"": "x"}}}, "Meta key is empty"},
		{"Meta value with NUL", "a", []eventstore.Event{{Type: "t", Meta: map[string]string{"k": "\x00"}}}, `Meta["k"]`},
		{"other aggregate", "a", []eventstore.Event{{Type: "t", Aggregate: "b"}}, `names aggregate "b"`},
	}
	for _, c := range cases {
		_, err := s.Append(ctx, c.agg, 0, c.evs...)
		if !errors.Is(err, eventstore.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.want)
		}
	}
	if _, err := s.Append(ctx, "a", 0, eventstore.Event{ID: "x", Type: "t"}, eventstore.Event{ID: "x", Type: "t"}); !errors.Is(err, eventstore.ErrDuplicate) {
		t.Errorf("an ID twice in one Append: %v, want ErrDuplicate", err)
	}
	if _, err := s.Load(ctx, "", 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("Load of an empty aggregate: %v, want ErrInvalid", err)
	}
	if evs, _ := s.Load(ctx, "a", 0); len(evs) != 0 {
		t.Errorf("%d events stored by refused Appends", len(evs))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	bus, _ := backendtest.NewBus(t)
	for name, opts := range map[string][]eventstore.Option{
		"empty topic":  {eventstore.WithTopic("")},
		"nil codec":    {eventstore.WithCodec(nil)},
		"nil option":   {nil},
		"nil logger":   {eventstore.WithLogger(nil)},
		"nil provider": {eventstore.WithMeterProvider(nil)},
	} {
		if _, err := eventstore.New(eventstore.NewMemoryBackend(), bus, opts...); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := eventstore.New(nil, bus); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("nil backend: %v, want ErrInvalid", err)
	}
	b := eventstore.NewMemoryBackend()
	s, err := eventstore.New(b, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := eventstore.New(b, bus); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("a backend in use by another Store: %v, want ErrInvalid", err)
	}
}

type placedV1 struct {
	Amount int `json:"amount"`
}

type placedV2 struct {
	Cents int `json:"cents"`
}

// TestCodecUpcastsOnLoad: with WithCodec, Append stamps events of a
// registered type with the codec headers at the current version (so they
// are published with them), and Load returns an event stored at an older
// version (here written to the backend as an older writer left it) upcast
// to the current shape; on both backends.
func TestCodecUpcastsOnLoad(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) eventstore.Backend{
		"memory":   func(testing.TB) eventstore.Backend { return eventstore.NewMemoryBackend() },
		"postgres": newPostgresBackend,
	} {
		t.Run(name, func(t *testing.T) { testCodecUpcast(t, mk(t)) })
	}
}

func testCodecUpcast(t *testing.T, b eventstore.Backend) {
	ctx := context.Background()
	reg := placedRegistry(t)
	s, rec := newStore(t, b, eventstore.WithCodec(reg))

	// An event a v1 writer stored.
	old := eventstore.Event{ID: "old", Aggregate: "o", Type: "placed", Data: []byte(`{"amount":7}`), Time: time.Now().UTC().Truncate(time.Microsecond),
		Meta: map[string]string{codec.HeaderSchemaVersion: "1", codec.HeaderMessageType: "placed", codec.HeaderContentType: "application/json", "user": "ann"}}
	none := func([]eventstore.Event) ([]*mq.Message, error) { return nil, nil }
	if _, err := b.Append(ctx, "o", 0, []eventstore.Event{old}, none); err != nil {
		t.Fatal(err)
	}
	data, _, err := reg.Encode("placed", placedV2{Cents: 900})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "o", 1, eventstore.Event{Type: "placed", Data: data}, eventstore.Event{Type: "unregistered", Data: []byte("raw")}); err != nil {
		t.Fatal(err)
	}
	log := rec.Wait(t, "the events", func(log []driver.Message, _ int) bool { return len(log) >= 2 })
	if h := log[0].Headers; h[codec.HeaderSchemaVersion] != "2" || h[codec.HeaderMessageType] != "placed" || h[codec.HeaderContentType] != "application/json" {
		t.Fatalf("published headers %v, want the codec's at v2", h)
	}
	if got, err := codec.DecodeMessage[placedV2](reg, &log[0]); err != nil || got.Cents != 900 {
		t.Fatalf("decoding the published event: %+v, %v", got, err)
	}
	if h := log[1].Headers; h[codec.HeaderSchemaVersion] != "" {
		t.Fatalf("an unregistered type got codec headers: %v", h)
	}

	evs := mustLoadAll(t, s, "o")
	if len(evs) != 3 {
		t.Fatalf("loaded %d events, want 3", len(evs))
	}
	var p placedV2
	if err := json.Unmarshal(evs[0].Data, &p); err != nil || p.Cents != 700 {
		t.Fatalf("loaded v1 data as %s, want the v2 shape with 700 cents", evs[0].Data)
	}
	if evs[0].Meta[codec.HeaderSchemaVersion] != "2" || evs[0].Meta["user"] != "ann" {
		t.Fatalf("loaded Meta %v, want schema-version 2 and the user's", evs[0].Meta)
	}
	if string(evs[1].Data) != string(data) || evs[1].Meta[codec.HeaderSchemaVersion] != "2" {
		t.Fatalf("current-version event loaded as %s %v", evs[1].Data, evs[1].Meta)
	}
	if string(evs[2].Data) != "raw" {
		t.Fatalf("unregistered type's data changed: %s", evs[2].Data)
	}

	// A version the registry cannot read fails Load, naming the event.
	bad := old
	bad.ID, bad.Meta = "bad", map[string]string{codec.HeaderSchemaVersion: "3"}
	if _, err := b.Append(ctx, "p", 0, []eventstore.Event{bad}, none); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "p", 0); !errors.Is(err, codec.ErrVersion) || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("Load of a v3 event with a v2 registry: %v, want codec.ErrVersion naming the event", err)
	}
}

func mustAppend(t testing.TB, s *eventstore.Store, agg string, evs ...eventstore.Event) {
	t.Helper()
	if _, err := s.Append(context.Background(), agg, eventstore.Any, evs...); err != nil {
		t.Fatal(err)
	}
}

func mustLoadAll(t testing.TB, s *eventstore.Store, agg string) []eventstore.Event {
	t.Helper()
	evs, err := s.Load(context.Background(), agg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestMemoryRelaySetsAsideRefusedMessage: a message the broker refuses for
// good at publish time (a per-topic limit the client's check cannot see)
// is set aside, and the events after it are still published, in order.
func TestMemoryRelaySetsAsideRefusedMessage(t *testing.T) {
	s, rec := newStore(t, eventstore.NewMemoryBackend(), eventstore.WithLogger(slog.New(slog.DiscardHandler)))
	rec.Broker.SetTopicMaxMessageBytes(eventstore.DefaultTopic, 200)
	mustAppend(t, s, "a", eventstore.Event{Type: "t", Data: []byte("1")}, eventstore.Event{Type: "t", Data: make([]byte, 300)}, eventstore.Event{Type: "t", Data: []byte("3")})
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := rec.Log()
	if len(log) != 2 || string(log[0].Payload) != "1" || string(log[1].Payload) != "3" {
		t.Fatalf("published %d messages, want the first and third", len(log))
	}
}

// TestShutdownAfterBusClosed: with the bus closed the relay stops for
// good, and Shutdown says so rather than waiting for ever.
func TestShutdownAfterBusClosed(t *testing.T) {
	bus, rec := backendtest.NewBus(t)
	s, err := eventstore.New(eventstore.NewMemoryBackend(), bus, eventstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	rec.Broker.SetReachable(false)
	mustAppend(t, s, "a", eventstore.Event{Type: "t"})
	bus.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound for the broken case only
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, eventstore.ErrClosed) || !strings.Contains(err.Error(), "relay stopped") {
		t.Fatalf("Shutdown with the bus closed: %v, want ErrClosed saying the relay stopped", err)
	}
}

// placedRegistry registers "placed" at version 2 (placedV2) with an
// upcaster from version 1 (placedV1: an amount in whole units).
func placedRegistry(t *testing.T) *codec.Registry {
	t.Helper()
	reg, err := codec.NewRegistry(codec.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.Register[placedV2](reg, "placed", 2); err != nil {
		t.Fatal(err)
	}
	err = reg.Upcast("placed", 1, func(data []byte) ([]byte, error) {
		var p placedV1
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, err
		}
		return json.Marshal(placedV2{Cents: p.Amount * 100})
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
