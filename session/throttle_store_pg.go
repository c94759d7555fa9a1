package session

import (
	"context"
	"time"
)

// PostgresStore keeps no throttle state of its own (so no field in
// stores.go): the table session_throttle (pgThrottleDDL).

// throttleAttemptSQL is one attempt in one statement: the row is created
// or updated under its row lock by session_throttle_step, and a few
// expired rows of other keys are swept on the way so that sprayed
// usernames do not pile up.
const throttleAttemptSQL = `
WITH sweep AS (
	DELETE FROM session_throttle WHERE key IN (
		SELECT key FROM session_throttle WHERE expires <= $2 AND key <> $1
		LIMIT 8 FOR UPDATE SKIP LOCKED)
)
INSERT INTO session_throttle AS t (key, n, ws, l, lu, status, expires)
SELECT $1, s.o_n, s.o_ws, s.o_l, s.o_lu, s.o_status, s.o_expires
	FROM session_throttle_step(0, 0, 0, 0, $2, $3, $4, $5, $6, $7, $8) s
ON CONFLICT (key) DO UPDATE SET (n, ws, l, lu, status, expires) = (
	SELECT s.o_n, s.o_ws, s.o_l, s.o_lu, s.o_status, s.o_expires
	FROM session_throttle_step(
		CASE WHEN t.expires <= $2 THEN 0 ELSE t.n END, CASE WHEN t.expires <= $2 THEN 0 ELSE t.ws END,
		CASE WHEN t.expires <= $2 THEN 0 ELSE t.l END, CASE WHEN t.expires <= $2 THEN 0 ELSE t.lu END,
		$2, $3, $4, $5, $6, $7, $8) s)
RETURNING status, n, l, lu`

// ThrottleAttempt implements ThrottleStore in one statement.
func (s *PostgresStore) ThrottleAttempt(ctx context.Context, key string, now time.Time, p ThrottlePolicy, challenged bool) (ThrottleState, error) {
	if s.closed.isClosed() {
		return ThrottleState{}, ErrClosed
	}
	var r throttleRec
	var status int
	err := s.pool.QueryRow(ctx, throttleAttemptSQL, key, now.UnixMilli(), p.Limit, p.ChallengeAfter, challenged,
		p.Window.Milliseconds(), p.Base.Milliseconds(), p.Max.Milliseconds()).Scan(&status, &r.n, &r.l, &r.lu)
	if err != nil {
		return ThrottleState{}, throttleWrap("postgres throttle attempt", err)
	}
	return r.state(ThrottleStatus(status)), nil
}

// ThrottleReset implements ThrottleStore.
func (s *PostgresStore) ThrottleReset(ctx context.Context, key string) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM session_throttle WHERE key = $1`, key); err != nil {
		return throttleWrap("postgres throttle reset", err)
	}
	return nil
}

// throttleForgiveSQL mirrors throttleForgive in one statement, under the
// row's lock: $2 the attempt's time, $3 the lockout it set (0: none),
// $4 the limit, $5 the window, $6 the max (ms).
const throttleForgiveSQL = `
UPDATE session_throttle SET
	n = CASE WHEN $3::bigint = 0 THEN n - 1 ELSE $4::integer - 1 END,
	ws = CASE WHEN $3::bigint = 0 THEN ws ELSE $2::bigint END,
	l = CASE WHEN $3::bigint = 0 THEN l ELSE l - 1 END,
	lu = CASE WHEN $3::bigint = 0 THEN lu WHEN l > 1 THEN $2::bigint ELSE 0 END,
	expires = CASE WHEN $3::bigint = 0 THEN expires
		WHEN l > 1 THEN greatest($2::bigint + $5::bigint, $2::bigint + $6::bigint) ELSE $2::bigint + $5::bigint END
WHERE key = $1 AND CASE WHEN $3::bigint = 0 THEN n > 0 AND ws > 0 AND ws <= $2::bigint
	ELSE lu = $3::bigint AND n = 0 AND ws = 0 AND l > 0 END`

// ThrottleForgive implements ThrottleStore in one statement.
func (s *PostgresStore) ThrottleForgive(ctx context.Context, key string, at time.Time, p ThrottlePolicy, got ThrottleState) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	var lu int64 // 0: the attempt did not lock the key
	if got.Status == ThrottleLast && !got.LockedUntil.IsZero() {
		lu = got.LockedUntil.UnixMilli()
	}
	_, err := s.pool.Exec(ctx, throttleForgiveSQL, key, at.UnixMilli(), lu, p.Limit,
		p.Window.Milliseconds(), p.Max.Milliseconds())
	if err != nil {
		return throttleWrap("postgres throttle forgive", err)
	}
	return nil
}
