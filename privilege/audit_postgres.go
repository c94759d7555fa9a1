package privilege

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/privilege/internal/auditbatch"
)

// PostgresAudit is an AuditSink writing decisions to the privilege_audit
// table in batches: Audit only queues, a background writer copies each
// batch in one round trip (COPY). End it with Shutdown.
type PostgresAudit struct {
	pool *pgxpool.Pool
	b    *batcher.Batcher[AuditEvent]

	// afterCopy, when set, runs after a COPY succeeded and its error is
	// the attempt's: tests make an acknowledgement "lost" with it.
	afterCopy func() error
}

// NewPostgresAudit returns a sink writing to pool's privilege_audit table,
// which Migrate creates (NewPostgresStore runs it; with another Store, run
// MigratePostgres). The pool stays the caller's; shut the sink down
// before closing it. A nil pool or a bad option is ErrInvalid.
func NewPostgresAudit(pool *pgxpool.Pool, opts ...AuditOption) (*PostgresAudit, error) {
	if pool == nil {
		return nil, auditbatch.Invalid("postgres", ErrInvalid, "nil pool")
	}
	a := &PostgresAudit{pool: pool}
	b, err := auditbatch.New("postgres", ErrInvalid, a.flush, opts)
	if err != nil {
		return nil, err
	}
	a.b = b
	return a, nil
}

// Audit queues e; it never blocks. A full queue, or a sink shut down,
// drops e and counts it (privilege.audit.dropped).
func (a *PostgresAudit) Audit(_ context.Context, e AuditEvent) { a.b.Add(e) }

// Shutdown writes what is queued and stops the writer. It is idempotent;
// see the package doc, # Audit, for what it returns.
func (a *PostgresAudit) Shutdown(ctx context.Context) error {
	return wrapOp("audit to postgres: shutdown", a.b.Shutdown(ctx))
}

var auditColumns = []string{"decided_at", "subject", "resource", "action", "allowed", "reason", "policy_id", "role", "version", "source", "batch_id"}

// flush writes one batch, in a transaction holding an advisory lock on
// the batch id. On a retry it first looks for the batch: a COPY is all
// or nothing, so one row of it found (by its first event and the batch
// id) means an earlier attempt committed and only its answer was lost.
// The lock makes that look-up see the earlier attempt's outcome: an
// attempt whose connection was lost on our side may still be running on
// the server (pgx's cancel request did not get through), and would
// commit after a look-up that ran beside it; holding the lock, it makes
// the retry wait until it has committed or aborted.
func (a *PostgresAudit) flush(ctx context.Context, bt batcher.Batch[AuditEvent]) error {
	id := int64(bt.ID) // any 64 bits will do; bigint is signed
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, id); err != nil {
			return err
		}
		if bt.Attempt > 1 {
			first := bt.Items[0]
			var landed bool
			err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM privilege_audit
  WHERE subject = $1 AND decided_at = $2 AND batch_id = $3)`, auditText(first.Subject), first.Time, id).Scan(&landed)
			if err != nil || landed {
				return err
			}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"privilege_audit"}, auditColumns,
			pgx.CopyFromSlice(len(bt.Items), func(i int) ([]any, error) {
				e := &bt.Items[i]
				if e.Version > math.MaxInt64 {
					return nil, batcher.BadBatch(fmt.Errorf("version %d does not fit a bigint", e.Version))
				}
				return []any{e.Time, auditText(e.Subject), auditText(e.Resource), auditText(e.Action), e.Allowed,
					auditText(e.Reason), auditText(e.PolicyID), auditText(e.Role), int64(e.Version), auditText(e.Source), id}, nil
			}))
		return err
	})
	if err == nil && a.afterCopy != nil {
		err = a.afterCopy()
	}
	return auditPGError(err)
}

// auditPGError classifies a write's error: a data exception, a
// constraint violation or a program limit (SQLSTATE classes 22, 23 and
// 54: a subject too long for the index is 54000) is the batch's fault,
// so it is split to find the row; anything else is retried.
func auditPGError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23") || strings.HasPrefix(pe.Code, "54")) {
		return batcher.BadBatch(err)
	}
	return err
}

// auditText makes s storable as text: PostgreSQL refuses NUL bytes and
// invalid UTF-8, and an audit row is better kept with a replaced byte
// than lost.
func auditText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
