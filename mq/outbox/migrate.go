package outbox

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/mq"
)

// New returns an Outbox on pool that publishes to bus, creating its tables
// if they are missing. The migration is idempotent and runs under an
// advisory lock, so processes starting together take turns. It fails if
// the table was made with another number of partitions.
func New(ctx context.Context, pool *pgxpool.Pool, bus *mq.Client, opts ...Option) (*Outbox, error) {
	if pool == nil || bus == nil {
		return nil, fmt.Errorf("%w: outbox.New: nil pool or bus", ErrInvalid)
	}
	o2, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	h := fnv.New32a()
	h.Write([]byte(o2.table))
	o := &Outbox{
		pool: pool, bus: bus, opts: o2,
		table:     pgx.Identifier{o2.table}.Sanitize(),
		parts:     pgx.Identifier{o2.table + "_partitions"}.Sanitize(),
		lockClass: int32(h.Sum32()),
		done:      make(chan struct{}),
	}
	if err := o.migrate(ctx); err != nil {
		return nil, err
	}
	o.tel = newTelemetry(o2.meter, o2.table)
	return o, nil
}

// migrate creates the tables and partition rows that are missing and
// checks the partition count.
func (o *Outbox) migrate(ctx context.Context) error {
	ddl := fmt.Sprintf(`
CREATE TABLE IF NOT EXISTS %[1]s (
  seq bigserial PRIMARY KEY,
  partition int NOT NULL,
  id text NOT NULL,
  topic text NOT NULL,
  key text NOT NULL,
  payload bytea NOT NULL,
  headers jsonb,
  time timestamptz NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  sent timestamptz,
  failed timestamptz,
  attempts int NOT NULL DEFAULT 0,
  last_error text);
CREATE INDEX IF NOT EXISTS %[3]s ON %[1]s (partition, seq) WHERE sent IS NULL AND failed IS NULL;
CREATE INDEX IF NOT EXISTS %[4]s ON %[1]s (sent) WHERE sent IS NOT NULL;
CREATE TABLE IF NOT EXISTS %[2]s (partition int PRIMARY KEY);`,
		o.table, o.parts, pgx.Identifier{o.opts.table + "_pending"}.Sanitize(), pgx.Identifier{o.opts.table + "_sent"}.Sanitize())
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "groundwork outbox migrate "+o.opts.table); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+o.parts).Scan(&n); err != nil {
			return err
		}
		switch {
		case n == 0:
			_, err := tx.Exec(ctx, "INSERT INTO "+o.parts+" SELECT generate_series(0, $1::int - 1)", o.opts.partitions)
			return err
		case n != o.opts.partitions:
			return fmt.Errorf("%w: WithPartitions(%d): table %s has %d partitions", ErrInvalid, o.opts.partitions, o.opts.table, n)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: migrate %s: %w", o.opts.table, err)
	}
	return nil
}
