package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgSessionsDDL is the sessions table: one row per session, its values in
// a JSONB object updated field by field (vals - deleted || set, in one
// UPDATE, so concurrent updates of different fields all survive), the
// user column indexed for LogoutAll. Times are Unix milliseconds of the
// Manager's clock.
const pgSessionsDDL = `
CREATE TABLE IF NOT EXISTS session_sessions (
	hash text PRIMARY KEY,
	shard text NOT NULL,
	user_id text,
	created_ms bigint NOT NULL,
	absolute_ms bigint NOT NULL,
	idle_ms bigint NOT NULL,
	idle_deadline_ms bigint NOT NULL,
	vals jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS session_sessions_user ON session_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS session_sessions_end ON session_sessions (LEAST(absolute_ms, idle_deadline_ms));
`

const pgSessionCols = `user_id, created_ms, absolute_ms, idle_ms, idle_deadline_ms, vals`

// pgLive is the condition of a row live at $now.
const pgLive = `absolute_ms > @now AND idle_deadline_ms > @now`

func (s *PostgresStore) usable() error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	return nil
}

func pgErr(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return wrapOp("postgres "+op, err)
}

func pgUser(rec *Record) *string {
	if rec.UserID == "" {
		return nil
	}
	return &rec.UserID
}

func scanPgRecord(ref Ref, row pgx.Row) (*Record, error) {
	rec := &Record{Ref: ref}
	var user *string
	var created, absolute, idle, deadline int64
	if err := row.Scan(&user, &created, &absolute, &idle, &deadline, &rec.Values); err != nil {
		return nil, err
	}
	if user != nil {
		rec.UserID = *user
	}
	rec.Created, rec.Absolute, rec.IdleDeadline = time.UnixMilli(created), time.UnixMilli(absolute), time.UnixMilli(deadline)
	rec.Idle = time.Duration(idle) * time.Millisecond
	if rec.Values == nil {
		rec.Values = map[string]string{}
	}
	return rec, nil
}

const pgInsertSession = `INSERT INTO session_sessions (hash, shard, user_id, created_ms, absolute_ms, idle_ms, idle_deadline_ms, vals)
VALUES (@hash, @shard, @user, @created, @absolute, @idle, @deadline, @vals)`

// pgSweep deletes up to 100 sessions ended before @now: garbage
// collection, run beside every create.
const pgSweep = `DELETE FROM session_sessions WHERE hash IN (
	SELECT hash FROM session_sessions WHERE LEAST(absolute_ms, idle_deadline_ms) <= @now LIMIT 100)`

func pgInsertArgs(rec *Record) pgx.NamedArgs {
	vals := rec.Values
	if vals == nil {
		vals = map[string]string{}
	}
	return pgx.NamedArgs{"hash": rec.Ref.Hash, "shard": rec.Ref.Shard, "user": pgUser(rec),
		"created": ms(rec.Created), "absolute": ms(rec.Absolute), "idle": rec.Idle.Milliseconds(),
		"deadline": ms(rec.IdleDeadline), "vals": vals, "now": ms(rec.Created)}
}

// CreateSession implements SessionStore.
func (s *PostgresStore) CreateSession(ctx context.Context, rec *Record) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := checkRecord(rec); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return pgCreate(ctx, tx, rec) })
	if err != nil && !errors.Is(err, ErrInvalid) {
		return pgErr("create", err)
	}
	return err
}

func pgCreate(ctx context.Context, tx pgx.Tx, rec *Record) error {
	args := pgInsertArgs(rec)
	if _, err := tx.Exec(ctx, pgSweep, args); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, pgInsertSession+` ON CONFLICT (hash) DO NOTHING`, args)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: session %s exists", ErrInvalid, rec.Ref.Shard)
	}
	return nil
}

// LoadSession implements SessionStore: one UPDATE ... RETURNING.
func (s *PostgresStore) LoadSession(ctx context.Context, ref Ref, now time.Time) (*Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if !validRef(ref) {
		return nil, ErrNoSession
	}
	row := s.pool.QueryRow(ctx, `UPDATE session_sessions SET idle_deadline_ms = GREATEST(idle_deadline_ms, LEAST(@now::bigint + idle_ms, absolute_ms))
		WHERE hash = @hash AND shard = @shard AND `+pgLive+` RETURNING `+pgSessionCols,
		pgx.NamedArgs{"hash": ref.Hash, "shard": ref.Shard, "now": ms(now)})
	rec, err := scanPgRecord(ref, row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, pgErr("load", err)
	}
	return rec, nil
}

// UpdateSession implements SessionStore: one UPDATE whose new value is
// computed from the row as it is when the UPDATE holds its lock.
func (s *PostgresStore) UpdateSession(ctx context.Context, ref Ref, set map[string]string, del []string, now time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	if !validRef(ref) {
		return ErrNoSession
	}
	if set == nil {
		set = map[string]string{}
	}
	if del == nil {
		del = []string{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE session_sessions SET vals = (vals - @del::text[]) || @set::jsonb
		WHERE hash = @hash AND shard = @shard AND `+pgLive,
		pgx.NamedArgs{"hash": ref.Hash, "shard": ref.Shard, "now": ms(now), "set": set, "del": del})
	if err != nil {
		return pgErr("update", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNoSession
	}
	return nil
}

// RenewSession implements SessionStore, in one transaction.
func (s *PostgresStore) RenewSession(ctx context.Context, old Ref, rec *Record, now time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := checkRenew(old, rec); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM session_sessions WHERE hash = @hash AND shard = @shard AND `+pgLive,
			pgx.NamedArgs{"hash": old.Hash, "shard": old.Shard, "now": ms(now)})
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNoSession
		}
		return pgCreate(ctx, tx, rec)
	})
	if err != nil && !errors.Is(err, ErrNoSession) && !errors.Is(err, ErrInvalid) {
		return pgErr("renew", err)
	}
	return err
}

// DeleteSession implements SessionStore.
func (s *PostgresStore) DeleteSession(ctx context.Context, ref Ref) error {
	if err := s.usable(); err != nil {
		return err
	}
	if !validRef(ref) {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM session_sessions WHERE hash = $1 AND shard = $2`, ref.Hash, ref.Shard); err != nil {
		return pgErr("delete", err)
	}
	return nil
}

// DeleteUserSessions implements SessionStore: one statement on the
// indexed user column.
func (s *PostgresStore) DeleteUserSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	var n int
	err := s.pool.QueryRow(ctx, `WITH d AS (DELETE FROM session_sessions WHERE user_id = @user
		RETURNING `+pgLive+` AS live) SELECT count(*) FILTER (WHERE live) FROM d`,
		pgx.NamedArgs{"user": userID, "now": ms(now)}).Scan(&n)
	if err != nil {
		return 0, pgErr("delete user sessions", err)
	}
	return n, nil
}

// ListUserSessions implements SessionStore.
func (s *PostgresStore) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT hash, shard, `+pgSessionCols+` FROM session_sessions
		WHERE user_id = @user AND `+pgLive+` ORDER BY created_ms, hash`, pgx.NamedArgs{"user": userID, "now": ms(now)})
	if err != nil {
		return nil, pgErr("list user sessions", err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		var ref Ref
		rec := &Record{}
		var user *string
		var created, absolute, idle, deadline int64
		if err := rows.Scan(&ref.Hash, &ref.Shard, &user, &created, &absolute, &idle, &deadline, &rec.Values); err != nil {
			return nil, pgErr("list user sessions", err)
		}
		rec.Ref, rec.UserID = ref, userID
		rec.Created, rec.Absolute, rec.IdleDeadline = time.UnixMilli(created), time.UnixMilli(absolute), time.UnixMilli(deadline)
		rec.Idle = time.Duration(idle) * time.Millisecond
		if rec.Values == nil {
			rec.Values = map[string]string{}
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, pgErr("list user sessions", err)
	}
	return out, nil
}
