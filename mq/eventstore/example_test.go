package eventstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/eventstore"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
)

// Append with an expected version, handle a conflict, load the stream.
func Example() {
	ctx := context.Background()
	bus, err := mq.Open(ctx, "mem://example-eventstore")
	if err != nil {
		panic(err)
	}
	defer bus.Close()
	store, err := eventstore.New(eventstore.NewMemoryBackend(), bus)
	if err != nil {
		panic(err)
	}
	defer store.Shutdown(ctx)

	v, _ := store.Append(ctx, "order-42", 0, eventstore.Event{Type: "order-placed", Data: []byte(`{"total":12}`)})
	fmt.Println("version", v)

	// A writer that read version 0 too is told where the stream is.
	_, err = store.Append(ctx, "order-42", 0, eventstore.Event{Type: "order-cancelled"})
	var ce *eventstore.ConflictError
	if errors.As(err, &ce) {
		fmt.Println("conflict: actual version", ce.Actual)
	}
	store.Append(ctx, "order-42", ce.Actual, eventstore.Event{Type: "order-paid"})

	events, _ := store.Load(ctx, "order-42", 0)
	for _, e := range events {
		fmt.Println(e.Version, e.Type)
	}
	// Output:
	// version 1
	// conflict: actual version 1
	// 1 order-placed
	// 2 order-paid
}

// The PostgreSQL backend: events and their outbox rows in one transaction.
func ExampleNewPostgresBackend() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/app")
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	bus, err := mq.Open(ctx, "mem://example-pg")
	if err != nil {
		panic(err)
	}
	defer bus.Close()
	backend, err := eventstore.NewPostgresBackend(ctx, pool)
	if err != nil {
		panic(err)
	}
	store, err := eventstore.New(backend, bus, eventstore.WithTopic("orders"))
	if err != nil {
		panic(err)
	}
	defer store.Shutdown(ctx)
	_, err = store.Append(ctx, "order-42", eventstore.Any, eventstore.Event{Type: "order-placed"})
	fmt.Println(err)
}
