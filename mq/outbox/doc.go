// Package outbox is a transactional outbox over PostgreSQL: messages are
// stored in the caller's own transaction, next to the rows they announce,
// and a relay publishes them to an mq.Client once that transaction has
// committed. A crash between the write and the publish loses nothing.
//
//	ob, err := outbox.New(ctx, pool, bus)       // creates its tables if missing
//	go ob.Run(ctx)                              // the relay; run it in every replica
//	tx, _ := pool.Begin(ctx)
//	tx.Exec(ctx, "UPDATE orders SET state = 'paid' WHERE id = $1", id)
//	ob.Enqueue(ctx, tx, &mq.Message{Topic: "orders", Key: id, Payload: body})
//	tx.Commit(ctx)
//
// # Tables
//
// <table> (default "groundwork_outbox") holds one row per message: seq
// (bigserial), partition, id, topic, key, payload, headers (jsonb), time,
// created, sent, failed, attempts, last_error. <table>_partitions holds
// one row per partition (WithPartitions, default 64). New creates both if
// missing (CREATE ... IF NOT EXISTS under an advisory lock, so replicas
// starting together take turns) and refuses a table made with another
// partition count. Enqueue notifies channel <table> (pg_notify, delivered
// at commit).
//
// # Guarantees
//
// Delivery: at least once, with a stable ID. A message enqueued in a
// transaction that rolls back is never published; one that commits is
// published, with the ID Enqueue gave it (msg.ID, or a UUIDv7), however
// often the relay retries or crashes: a relay that dies after publishing
// and before marking the row sent leaves it to be published again with the
// same ID, so a consumer with mq.WithDedup sees it once — exactly once in
// effect.
//
// Order: per key, the commit order of the writers' transactions. Enqueue
// takes a transaction-scoped advisory lock per key, so writers of one key
// are serialised from their Enqueue to their commit, and their rows'
// sequence numbers follow commit order; keys map to partitions by hash,
// a partition is relayed by one relay at a time (its row locked FOR UPDATE
// SKIP LOCKED for the round), in sequence order, and a row is never
// skipped while it can still be sent. Keyless messages are spread over
// the partitions and have no order. Many relays (Run in several processes)
// share the partitions between them.
//
// Latency: a relay wakes at once on a notification (LISTEN on a
// connection of its own) and polls every WithPollInterval (default 1s)
// when notifications are lost. Sent rows are deleted after WithRetention
// (default 24h) by an idle relay.
//
// # Errors
//
// New and the options: ErrInvalid naming the bad argument. Enqueue:
// ErrInvalid, mq.ErrInvalid or mq.ErrTooLarge naming the bad message and
// field (nothing is stored), else PostgreSQL's error wrapped as
// "outbox: enqueue: ...". Run returns ctx.Err() when ctx ends, ErrClosed
// when the Outbox is closed, and an error wrapping mq.ErrClosed when the
// bus is closed; it retries everything else (PostgreSQL or the bus
// unreachable, the circuit open: what mq.Client.IsRetryable accepts) with
// backoff, logging and counting it. A message the bus refuses for good
// (anything else: mq.ErrTooLarge, mq.ErrInvalid, a provider's refusal
// such as a missing permission on the topic) is marked failed with its
// error in last_error, logged, counted, and kept; the partition goes on.
// Once the cause is fixed, clearing a row's failed column (UPDATE <table>
// SET failed = NULL WHERE ...) has the relay send it again, after the
// rows of its key that went meanwhile.
//
// # Metrics
//
// outbox.enqueued{outbox.table} and outbox.relayed{outbox.table, outcome:
// sent|failed|retry|db_error}, observable counters read from atomics.
// Traces: Enqueue stores the trace context of its ctx in each message's
// headers (mq.Client.TraceHeaders), so that the consumer's span follows
// the request that enqueued the message rather than the relay.
//
// # URLs, As
//
// None: an Outbox is built on a *pgxpool.Pool and an *mq.Client the
// caller owns (Close closes neither).
package outbox
