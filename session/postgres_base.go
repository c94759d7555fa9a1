package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

// pgSchemaDDL records which DDL the tables were made with: a start that
// finds the hash of its own DDL there runs none, so a replica starting
// while others work takes no table lock.
const pgSchemaDDL = `CREATE TABLE IF NOT EXISTS session_schema (id int PRIMARY KEY, ddl_sha256 text NOT NULL);`

// pgMigrateTimeout bounds NewPostgresStore's work, pgLockTimeout each lock
// it waits for: a database that hangs, or a table another session holds,
// fails the constructor with an error rather than blocking a start for
// ever.
var (
	pgMigrateTimeout = 30 * time.Second
	pgLockTimeout    = 10 * time.Second
)

// pgMigrate creates the tables of every part (ddls, each idempotent) in
// one transaction, under an advisory lock so that instances starting
// together take turns: CREATE TABLE IF NOT EXISTS alone can race in
// PostgreSQL (two sessions both find the table missing, one fails on the
// catalog's unique index).
func pgMigrate(pool *pgxpool.Pool, ddls []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgMigrateTimeout)
	defer cancel()
	all := pgSchemaDDL + "\n" + strings.Join(ddls, "\n")
	sum := sha256.Sum256([]byte(all))
	want := hex.EncodeToString(sum[:])

	// A plain read takes no lock that DDL waits for; the common start
	// ends here. A missing table or row means "create".
	var have string
	err := pool.QueryRow(ctx, `SELECT ddl_sha256 FROM session_schema WHERE id = 1`).Scan(&have)
	var pe *pgconn.PgError
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && !(errors.As(err, &pe) && pe.Code == "42P01" /* undefined_table */) {
		return pgMigrateErr(err)
	}
	if have == want {
		return nil
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// SET LOCAL takes no parameters; the value is a number of ms.
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", pgLockTimeout.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('groundwork session schema'))"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, all); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO session_schema (id, ddl_sha256) VALUES (1, $1)
  ON CONFLICT (id) DO UPDATE SET ddl_sha256 = EXCLUDED.ddl_sha256`, want)
		return err
	})
	return pgMigrateErr(err)
}

func pgMigrateErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" /* lock_not_available */ {
		return wrapOp(fmt.Sprintf("postgres: create tables: a lock was not granted within %v: another session holds the tables; try again", pgLockTimeout), err)
	}
	return wrapOp("postgres: create tables", err)
}

// Close marks the store closed; the pool stays the caller's. Afterwards
// every method returns ErrClosed. It is idempotent.
func (s *PostgresStore) Close() error {
	s.closed.close()
	return nil
}

// isUnavailable reports whether err means the store cannot be reached
// (network, server down or starting, failover, too many connections), as
// opposed to an answer: it is what the Manager's circuit breaker counts.
// Context errors are the caller's and do not count; nor do ErrNoSession,
// ErrInvalid and other answers. It knows go-redis's errors and pgx's.
func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrUnavailable) || redisx.Retryable(err) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now (starting up, recovering)
			pe.Code == "53300", // too_many_connections
			pe.Code == "25006": // read_only_sql_transaction: a standby after failover
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
