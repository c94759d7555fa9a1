package logship

import (
	"log/slog"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

func TestMessageRoundTrip(t *testing.T) {
	want := Record{ID: "e1", Service: "orders", Time: time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC), Level: slog.LevelWarn + 2, JSON: []byte(`{"message":"x"}`)}
	got, err := RecordFromMessage(messageFor("logs", want))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Service != want.Service || !got.Time.Equal(want.Time) || got.Level != want.Level || string(got.JSON) != string(want.JSON) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRecordFromForeignMessage(t *testing.T) {
	m := &mq.Message{ID: "m1", Payload: []byte(`{"@timestamp":"2026-11-30T10:00:00Z","log":{"level":"error"},"service":{"name":"billing"},"event":{"id":"e9"},"message":"boom"}`)}
	r, err := RecordFromMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "e9" || r.Service != "billing" || r.Level != slog.LevelError || r.Time.IsZero() {
		t.Fatalf("got %+v", r)
	}
	dotted := &mq.Message{ID: "m2", Payload: []byte(`{"@timestamp":"2026-11-30T10:00:00Z","log.level":"warn","service.name":"billing","event.id":"e10","message":"w"}`)}
	if r, err := RecordFromMessage(dotted); err != nil || r.ID != "e10" || r.Service != "billing" || r.Level != slog.LevelWarn {
		t.Fatalf("dotted ECS keys: got %+v, %v", r, err)
	}
	for _, bad := range []string{`not json`, `{"log":{"level":"loud"}}`, `{"@timestamp":"yesterday"}`, `[1]`} {
		if _, err := RecordFromMessage(&mq.Message{ID: "m", Payload: []byte(bad)}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzRecordFromMessage(f *testing.F) {
	f.Add("m1", []byte(`{"@timestamp":"2026-11-30T10:00:00Z","log":{"level":"error"},"service":{"name":"b"},"event":{"id":"e"}}`))
	f.Add("", []byte(`{}`))
	f.Add("x", []byte(`{"log":{"level":"DEBUG-3"}}`))
	f.Fuzz(func(t *testing.T, id string, payload []byte) {
		r, err := RecordFromMessage(&mq.Message{ID: id, Payload: payload})
		if err == nil && r.ID == "" {
			t.Fatal("a record without an ID")
		}
	})
}
