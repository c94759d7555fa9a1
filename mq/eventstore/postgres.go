package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/mq/outbox"
)

// outboxTable is the mq/outbox table of the PostgreSQL backend: its own,
// so that an application outbox with another partition count does not
// clash with it.
const outboxTable = "groundwork_events_outbox"

// migrateLock is the advisory lock key under which the tables are made.
const migrateLock = 0x65767374 // "evst"

const schema = `
CREATE TABLE IF NOT EXISTS groundwork_streams (
  aggregate text PRIMARY KEY,
  version bigint NOT NULL);
CREATE TABLE IF NOT EXISTS groundwork_events (
  aggregate text NOT NULL,
  version bigint NOT NULL,
  id text NOT NULL UNIQUE,
  type text NOT NULL,
  data bytea NOT NULL,
  meta jsonb,
  time timestamptz NOT NULL,
  PRIMARY KEY (aggregate, version));`

// postgres keeps streams in groundwork_streams (one row per aggregate:
// its version, the compare-and-set point) and groundwork_events, and
// announces them through an mq/outbox written in the same transaction.
type postgres struct {
	pool *pgxpool.Pool

	mu     sync.Mutex
	ob     *outbox.Outbox // set by Attach
	closed bool

	afterEnqueue func() error // test hook: between Enqueue and Commit
	afterCommit  func()       // test hook: after Commit, before Append returns
}

// NewPostgresBackend returns a Backend on pool, creating its tables if
// missing (idempotent, under an advisory lock, so processes starting
// together take turns): groundwork_streams, groundwork_events and the
// outbox tables groundwork_events_outbox*. An Append is one transaction:
// compare-and-set of the stream's version, the events, and their messages
// in the outbox; the outbox relay (run by the Store) publishes them once
// committed, so a crash at any point neither loses nor invents an event.
// Many processes may share the tables. Close does not close pool.
func NewPostgresBackend(ctx context.Context, pool *pgxpool.Pool) (Backend, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: NewPostgresBackend: nil pool", ErrInvalid)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return nil, wrap("create tables", err)
	}
	return &postgres{pool: pool}, nil
}

var _ Backend = (*postgres)(nil)

func (p *postgres) Attach(ctx context.Context, a Attachment) error {
	if a.Bus == nil || a.Logger == nil || a.MeterProvider == nil {
		return fmt.Errorf("%w: Attach: nil bus, logger or meter provider", ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrClosed
	case p.ob != nil:
		return fmt.Errorf("%w: Attach: the backend is already attached to a bus", ErrInvalid)
	}
	ob, err := outbox.New(ctx, p.pool, a.Bus, outbox.WithTable(outboxTable), outbox.WithLogger(a.Logger), outbox.WithMeterProvider(a.MeterProvider))
	if err != nil {
		return err
	}
	p.ob = ob
	return nil
}

// outbox returns the attached outbox, or why there is none.
func (p *postgres) outbox() (*outbox.Outbox, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, ErrClosed
	case p.ob == nil:
		return nil, fmt.Errorf("%w: the backend is not attached to a bus", ErrInvalid)
	}
	return p.ob, nil
}

func (p *postgres) Append(ctx context.Context, aggregate string, expected uint64, events []Event, announce Announce) (uint64, error) {
	ob, err := p.outbox()
	if err != nil {
		return 0, err
	}
	n := int64(len(events))
	var cur uint64
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var err error
		if cur, err = casVersion(ctx, tx, aggregate, expected, n); err != nil {
			return err
		}
		evs := make([]Event, len(events))
		b := &pgx.Batch{}
		for i, e := range events {
			e.Version = cur + uint64(i) + 1
			evs[i] = e
			data := e.Data
			if data == nil {
				data = []byte{}
			}
			b.Queue("INSERT INTO groundwork_events (aggregate, version, id, type, data, meta, time) VALUES ($1, $2, $3, $4, $5, $6, $7)",
				aggregate, int64(e.Version), e.ID, e.Type, data, e.Meta, e.Time)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fmt.Errorf("%w: %s", ErrDuplicate, pe.Detail)
			}
			return err
		}
		msgs, err := announce(evs)
		if err != nil {
			return err
		}
		if err := ob.Enqueue(ctx, tx, msgs...); err != nil {
			if errors.Is(err, outbox.ErrClosed) {
				return ErrClosed
			}
			return err
		}
		if p.afterEnqueue != nil {
			return p.afterEnqueue()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if p.afterCommit != nil {
		p.afterCommit()
	}
	return cur + uint64(n), nil
}

// casVersion moves aggregate's stream from expected to expected+n and
// returns the version it was at; the row stays locked until tx ends, so
// writers of one aggregate are serialised up to their commit.
func casVersion(ctx context.Context, tx pgx.Tx, aggregate string, expected uint64, n int64) (uint64, error) {
	var tag pgconn.CommandTag
	var err error
	switch {
	case expected == Any:
		var v int64
		err = tx.QueryRow(ctx, `INSERT INTO groundwork_streams AS s (aggregate, version) VALUES ($1, $2)
ON CONFLICT (aggregate) DO UPDATE SET version = s.version + EXCLUDED.version RETURNING version`, aggregate, n).Scan(&v)
		return uint64(v - n), err
	case expected == 0:
		tag, err = tx.Exec(ctx, "INSERT INTO groundwork_streams (aggregate, version) VALUES ($1, $2) ON CONFLICT (aggregate) DO NOTHING", aggregate, n)
	case expected <= math.MaxInt64-uint64(n):
		tag, err = tx.Exec(ctx, "UPDATE groundwork_streams SET version = version + $3 WHERE aggregate = $1 AND version = $2", aggregate, int64(expected), n)
	}
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() == 1 {
		return expected, nil
	}
	var actual int64
	err = tx.QueryRow(ctx, "SELECT version FROM groundwork_streams WHERE aggregate = $1", aggregate).Scan(&actual)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	return 0, &ConflictError{Aggregate: aggregate, Expected: expected, Actual: uint64(actual)}
}

func (p *postgres) Load(ctx context.Context, aggregate string, after uint64, limit int) ([]Event, error) {
	if _, err := p.outbox(); errors.Is(err, ErrClosed) {
		return nil, err
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	rows, err := p.pool.Query(ctx, "SELECT id, type, version, data, meta, time FROM groundwork_events WHERE aggregate = $1 AND version > $2 ORDER BY version LIMIT $3", aggregate, int64(after), lim)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		e := Event{Aggregate: aggregate}
		var v int64
		err := r.Scan(&e.ID, &e.Type, &v, &e.Data, &e.Meta, &e.Time)
		e.Version, e.Time = uint64(v), e.Time.UTC()
		return e, err
	})
}

func (p *postgres) Relay(ctx context.Context) error {
	ob, err := p.outbox()
	if err != nil {
		return err
	}
	err = ob.Run(ctx)
	if errors.Is(err, outbox.ErrClosed) {
		return ErrClosed
	}
	return err
}

// flushPoll is how often Flush looks at the outbox.
const flushPoll = 10 * time.Millisecond

func (p *postgres) Flush(ctx context.Context) error {
	if _, err := p.outbox(); err != nil {
		return err
	}
	var last int64
	if err := p.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM "+outboxTable).Scan(&last); err != nil {
		return err
	}
	t := time.NewTicker(flushPoll)
	defer t.Stop()
	for {
		var left bool
		err := p.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+outboxTable+" WHERE seq <= $1 AND sent IS NULL AND failed IS NULL)", last).Scan(&left)
		if err != nil {
			return err
		}
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *postgres) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.ob != nil {
		return p.ob.Close()
	}
	return nil
}
