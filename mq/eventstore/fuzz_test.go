package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/mq/eventstore"
	"github.com/groundwork-go/groundwork/mq/eventstore/backendtest"
)

// FuzzAppendNames: any aggregate, type, ID and Meta never panics; what
// Append refuses is ErrInvalid or ErrDuplicate with nothing stored, and
// what it accepts loads back as given.
func FuzzAppendNames(f *testing.F) {
	f.Add("order-1", "placed", "", "user", "ann")
	f.Add("", "t", "id", "k", "v")
	f.Add("a\x00", "t\xff", "\x00", "mq-x", "v\x00")
	f.Add("a", "t", "id", "Event-Type", "v")
	bus, _ := backendtest.NewBus(f)
	s, err := eventstore.New(eventstore.NewMemoryBackend(), bus)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, agg, typ, id, key, val string) {
		ctx := context.Background()
		before, lerr := s.Load(ctx, agg, 0)
		e := eventstore.Event{ID: id, Type: typ, Meta: map[string]string{key: val}}
		_, err := s.Append(ctx, agg, eventstore.Any, e)
		if err != nil {
			if !errors.Is(err, eventstore.ErrInvalid) && !errors.Is(err, eventstore.ErrDuplicate) {
				t.Fatalf("Append(%q, %q, %q, %q=%q): %v, want ErrInvalid or ErrDuplicate", agg, typ, id, key, val, err)
			}
			if after, _ := s.Load(ctx, agg, 0); lerr == nil && len(after) != len(before) {
				t.Fatalf("a refused Append stored %d events", len(after)-len(before))
			}
			return
		}
		after, err := s.Load(ctx, agg, 0)
		if err != nil || len(after) != len(before)+1 {
			t.Fatalf("Load after Append: %d events (%v), want %d", len(after), err, len(before)+1)
		}
		got := after[len(after)-1]
		if got.Type != typ || got.Meta[key] != val || (id != "" && got.ID != id) {
			t.Fatalf("loaded %+v, appended %+v", got, e)
		}
	})
}
