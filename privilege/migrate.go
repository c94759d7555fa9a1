package privilege

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are the schema's versions, applied in order: NNNN_name.sql.
// A released file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the pg_advisory_xact_lock key Migrate takes, so that
// instances starting together apply the migrations once, in turn.
const migrateLockKey int64 = 0x7072697669_6c6567 // "privileg"

// migrateLockTimeout bounds the wait for that lock (and for table locks
// a migration needs): a start blocked by a stuck session fails with an
// error instead of hanging.
var migrateLockTimeout = 30 * time.Second

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("privilege: migration file %q: want NNNN_name.sql", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("privilege: migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// Migrate brings the database's schema up to the version this code
// embeds. It is idempotent and safe to run from several instances at
// once: applied versions are recorded in privilege_schema_migrations, and
// the migrations run in one transaction under a transaction-scoped
// advisory lock, so one instance applies them and the others then find
// them applied. A database migrated by newer code (versions this code
// does not know) is left as it is. NewPostgresStore calls it.
func (s *PostgresStore) Migrate(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return migrate(ctx, s.pool)
}

// MigratePostgres is Migrate for a pool no PostgresStore uses: for
// PostgresAudit beside another Store.
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	if pool == nil {
		return fmt.Errorf("%w: nil pool", ErrInvalid)
	}
	return migrate(ctx, pool)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version

	// The common start: a plain read, no lock. A missing table means
	// "never migrated".
	var have int
	err = pool.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM privilege_schema_migrations`).Scan(&have)
	var pe *pgconn.PgError
	if err != nil && !(errors.As(err, &pe) && pe.Code == "42P01" /* undefined_table */) {
		return pgError(ctx, "migrate", err)
	}
	if err == nil && have >= latest {
		return nil
	}

	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		// SET LOCAL takes no parameters; the value is in ms.
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", migrateLockTimeout.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return err
		}
		// Under the lock, and read committed: this sees what an instance
		// that held the lock before us committed.
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS privilege_schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM privilege_schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		done := make(map[int]bool, len(applied))
		for _, v := range applied {
			done[v] = true
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO privilege_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
	if errors.As(err, &pe) && pe.Code == "55P03" /* lock_not_available */ {
		return fmt.Errorf("privilege: postgres: migrate: a lock was not granted within %v (another session holds it); try again: %w", migrateLockTimeout, err)
	}
	return pgError(ctx, "migrate", err)
}
