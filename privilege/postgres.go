package privilege

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ChangeChannel is the PostgreSQL channel every PostgresStore write
// notifies on commit; the payload is the new Version in decimal. An
// instance that LISTENs on it learns of writes made by any other. Watch
// takes a notification as news only and reads the version itself: NOTIFY
// needs no privilege, so the payload can be forged.
const ChangeChannel = "privilege_changed"

// PostgresStore is a Store in PostgreSQL (tables privilege_*, made by
// Migrate). It is safe for concurrent use, by several instances too.
type PostgresStore struct {
	pool   *pgxpool.Pool
	o      storeOptions
	id     string // the database's StoreID
	closed atomic.Bool

	// The shared write checks, fields so that a test can put a stand-in.
	validateRole   func(Role, func(string) ([]string, bool), func(string) []string) error
	validatePolicy func(Policy, []Policy) error
	// afterValidate, when set (by tests), runs inside a write transaction
	// after its checks passed, before it writes: op names the write.
	afterValidate func(op string)

	watchers watchers // Watch callbacks, told of this handle's commits
	// watchHook, when set (by tests), runs in Watch on its events:
	// "listening" (LISTEN set up and the version re-read) and "lost" (the
	// connection failed; it blocks the reconnection until it returns).
	watchHook func(ctx context.Context, event string)
}

var _ Store = (*PostgresStore)(nil)

// NewPostgresStore returns a Store on pool, after Migrate has brought the
// schema up to date (an empty database gets the tables). The pool stays
// the caller's: Close does not close it. A nil option is ErrInvalid.
func NewPostgresStore(ctx context.Context, pool *pgxpool.Pool, opts ...StoreOption) (*PostgresStore, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: NewPostgresStore: nil pool", ErrInvalid)
	}
	o, ok := applyStoreOptions(opts)
	if !ok {
		return nil, fmt.Errorf("%w: NewPostgresStore: nil option", ErrInvalid)
	}
	s := &PostgresStore{pool: pool, o: o, validateRole: validateRole, validatePolicy: validatePolicy}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := s.readStoreID(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close marks the store closed; afterwards every method returns
// ErrClosed. It is idempotent and leaves the pool open.
func (s *PostgresStore) Close() error {
	s.closed.Store(true)
	return nil
}

// errNoChange ends a write transaction that found nothing to change: it
// rolls back, so the version is not bumped and no cache is invalidated.
var errNoChange = errors.New("no change")

// write runs fn in a read-committed transaction that first bumps the
// version. The bump's row lock is held until commit, so writes run one at
// a time, and every statement fn runs after it sees every write committed
// before: the checks fn makes (cycles, conflicts) cannot be passed by two
// concurrent writes that together break them. On commit, ChangeChannel
// gets the new version. fn returning errNoChange rolls back and is no
// error.
func (s *PostgresStore) write(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var v uint64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE privilege_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		// Delivered to listeners when (and only if) the transaction commits.
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangeChannel, strconv.FormatUint(v, 10))
		return err
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err == nil {
		// Before the write returns: this process's engines decide at the
		// new version from the next check on (read-your-writes).
		s.watchers.tell(v)
	}
	return pgError(ctx, op, err)
}

// hook runs the test hook after a write's checks.
func (s *PostgresStore) hook(op string) {
	if s.afterValidate != nil {
		s.afterValidate(op)
	}
}

// pgError wraps a database error with the operation. The package's own
// errors pass as they are; a context error is returned bare (§3).
func pgError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	for _, own := range []error{ErrCycle, ErrBadCondition, ErrConflict, ErrClosed, ErrNotFound, ErrInvalid} {
		if errors.Is(err, own) {
			return err
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return wrapOp("postgres: "+op, err)
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
