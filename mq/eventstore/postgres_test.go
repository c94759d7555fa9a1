package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/eventstore"
	"github.com/groundwork-go/groundwork/mq/eventstore/backendtest"
)

// TestPostgresRollbackAfterEnqueue: an Append whose transaction fails
// after its outbox rows were written (a hook between Enqueue and Commit)
// stores and publishes nothing; the next Append of the stream goes.
func TestPostgresRollbackAfterEnqueue(t *testing.T) {
	ctx := context.Background()
	bus, rec := backendtest.NewBus(t)
	b := newPostgresBackend(t)
	s, err := eventstore.New(b, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("crash before commit")
	eventstore.SetAfterEnqueue(b, func() error { return boom })
	if _, err := s.Append(ctx, "a", 0, eventstore.Event{ID: "lost", Type: "t"}); !errors.Is(err, boom) {
		t.Fatalf("Append: %v, want the hook's error", err)
	}
	eventstore.SetAfterEnqueue(b, nil)
	if v, err := s.Append(ctx, "a", 0, eventstore.Event{ID: "kept", Type: "t"}); err != nil || v != 1 {
		t.Fatalf("Append after the rollback: %d, %v; want version 1", v, err)
	}
	rec.Wait(t, "the kept event", func(log []driver.Message, _ int) bool { return len(log) >= 1 })
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if log := rec.Log(); len(log) != 1 || log[0].ID != "kept" {
		t.Fatalf("published %v, want only the kept event", log)
	}
}
