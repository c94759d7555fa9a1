package outbox_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/mq/outbox"
)

// Example stores an order and the message announcing it in one
// transaction; the relay publishes the message once the transaction has
// committed. It needs a PostgreSQL server, so it is compiled, not run.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@localhost/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	bus, err := mq.Open(ctx, "mem://shop")
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	ob, err := outbox.New(ctx, pool, bus) // creates its tables if missing
	if err != nil {
		log.Fatal(err)
	}
	defer ob.Close()
	go ob.Run(ctx) // the relay: one per replica, they share the work

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO orders (id, total) VALUES ($1, $2)", "order-42", 1999); err != nil {
			return err
		}
		// Last in the transaction: it holds the key's lock until commit.
		return ob.Enqueue(ctx, tx, &mq.Message{Topic: "orders", Key: "order-42", Payload: []byte(`{"total":1999}`)})
	})
	if err != nil {
		log.Fatal(err)
	}
}
