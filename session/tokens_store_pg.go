package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgTokensChannel is the LISTEN/NOTIFY channel of revocations. A
// notification is sent when its transaction commits, so a watcher that
// listens before it reads a snapshot misses nothing.
const pgTokensChannel = "session_token_revoked"

const pgTokensDDL = `
CREATE TABLE IF NOT EXISTS session_token_versions (
	user_id text PRIMARY KEY,
	version bigint NOT NULL,
	until   timestamptz NOT NULL -- until when snapshots list it
);
CREATE TABLE IF NOT EXISTS session_token_denied (
	jti   text PRIMARY KEY,
	until timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS session_token_denied_until ON session_token_denied (until);
CREATE TABLE IF NOT EXISTS session_token_families (
	family  text PRIMARY KEY,
	current text, -- NULL once revoked
	until   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS session_token_families_until ON session_token_families (until);
`

// TokenVersion implements TokenStore.
func (s *PostgresStore) TokenVersion(ctx context.Context, userID string) (int64, error) {
	if s.closed.isClosed() {
		return 0, ErrClosed
	}
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM session_token_versions WHERE user_id = $1`, userID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, pgErr("token version", err)
	}
	return v, nil
}

// BumpTokenVersion implements TokenStore.
func (s *PostgresStore) BumpTokenVersion(ctx context.Context, userID string, until time.Time) (int64, error) {
	if s.closed.isClosed() {
		return 0, ErrClosed
	}
	var v int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var u time.Time
		if err := tx.QueryRow(ctx, `
			INSERT INTO session_token_versions AS t (user_id, version, until) VALUES ($1, 1, $2)
			ON CONFLICT (user_id) DO UPDATE SET version = t.version + 1, until = GREATEST(t.until, EXCLUDED.until)
			RETURNING version, until`, userID, until).Scan(&v, &u); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgTokensChannel,
			fmt.Sprintf("v %d %d %s", ms(u), v, userID))
		return err
	})
	if err != nil {
		return 0, pgErr("bump token version", err)
	}
	return v, nil
}

// DenyToken implements TokenStore.
func (s *PostgresStore) DenyToken(ctx context.Context, jti string, until time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Forget what has expired as new entries come: the table holds
		// only live tokens.
		if _, err := tx.Exec(ctx, `DELETE FROM session_token_denied WHERE until < now()`); err != nil {
			return err
		}
		var u time.Time
		if err := tx.QueryRow(ctx, `
			INSERT INTO session_token_denied AS t (jti, until) VALUES ($1, $2)
			ON CONFLICT (jti) DO UPDATE SET until = GREATEST(t.until, EXCLUDED.until)
			RETURNING until`, jti, until).Scan(&u); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgTokensChannel, fmt.Sprintf("d %d 0 %s", ms(u), jti))
		return err
	})
	if err != nil {
		return pgErr("deny token", err)
	}
	return nil
}

// CheckToken implements TokenStore.
func (s *PostgresStore) CheckToken(ctx context.Context, userID, jti string) (int64, bool, error) {
	if s.closed.isClosed() {
		return 0, false, ErrClosed
	}
	var v int64
	var denied bool
	err := s.pool.QueryRow(ctx, `SELECT
		COALESCE((SELECT version FROM session_token_versions WHERE user_id = $1), 0),
		EXISTS (SELECT 1 FROM session_token_denied WHERE jti = $2 AND until >= now())`, userID, jti).Scan(&v, &denied)
	if err != nil {
		return 0, false, pgErr("check token", err)
	}
	return v, denied, nil
}

// StartFamily implements TokenStore.
func (s *PostgresStore) StartFamily(ctx context.Context, family, jti string, until time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM session_token_families WHERE until < now()`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO session_token_families (family, current, until) VALUES ($1, $2, $3)`, family, jti, until)
		return err
	})
	if err != nil {
		return pgErr("start refresh family", err)
	}
	return nil
}

// SpendRefresh implements TokenStore: a compare-and-set on the family's
// current token ID. Two callers spending the same token are serialized
// by the row lock; the second finds the ID moved on and revokes the
// family.
func (s *PostgresStore) SpendRefresh(ctx context.Context, family, jti, next string, until time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	tag, err := s.pool.Exec(ctx, `UPDATE session_token_families SET current = $3, until = $4
		WHERE family = $1 AND current = $2 AND until >= now()`, family, jti, next, until)
	if err != nil {
		return pgErr("spend refresh token", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	tag, err = s.pool.Exec(ctx, `UPDATE session_token_families SET current = NULL
		WHERE family = $1 AND until >= now()`, family)
	if err != nil {
		return pgErr("revoke refresh family", err)
	}
	if tag.RowsAffected() == 1 {
		return ErrRefreshReused
	}
	return ErrInvalidToken
}

// RevocationSnapshot implements TokenStore.
func (s *PostgresStore) RevocationSnapshot(ctx context.Context, now time.Time) (*RevocationSnapshot, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	snap := &RevocationSnapshot{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT user_id, version, until FROM session_token_versions WHERE until >= $1`, now)
		if err != nil {
			return err
		}
		snap.Versions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Revocation, error) {
			var rv Revocation
			return rv, r.Scan(&rv.UserID, &rv.Version, &rv.Until)
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT jti, until FROM session_token_denied WHERE until >= $1`, now)
		if err != nil {
			return err
		}
		snap.Denied, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Revocation, error) {
			var rv Revocation
			return rv, r.Scan(&rv.JTI, &rv.Until)
		})
		return err
	})
	if err != nil {
		return nil, pgErr("revocation snapshot", err)
	}
	return snap, nil
}

// SubscribeRevocations implements TokenStore: LISTEN on a connection of
// its own, returned once the LISTEN has been executed.
func (s *PostgresStore) SubscribeRevocations(ctx context.Context) (RevocationSubscription, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, pgErr("listen for revocations", err)
	}
	if _, err := c.Exec(ctx, `LISTEN `+pgTokensChannel); err != nil {
		c.Release()
		return nil, pgErr("listen for revocations", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	sub := &pgRevSub{cancel: cancel, ch: make(chan Revocation), done: make(chan struct{})}
	go func() {
		defer close(sub.done)
		defer func() {
			// The connection still LISTENs: close it, so that the pool
			// drops it rather than lending it out.
			_ = c.Conn().Close(context.Background())
			c.Release()
		}()
		for {
			n, err := c.Conn().WaitForNotification(lctx)
			var r Revocation
			if err == nil {
				r, err = parseRevocation(n.Payload)
			}
			if err != nil {
				sub.err = err
				return
			}
			select {
			case sub.ch <- r:
			case <-lctx.Done():
				sub.err = lctx.Err()
				return
			}
		}
	}()
	return sub, nil
}

type pgRevSub struct {
	cancel context.CancelFunc
	ch     chan Revocation
	done   chan struct{}
	err    error // set before done is closed
}

// Next implements RevocationSubscription.
func (p *pgRevSub) Next(ctx context.Context) (Revocation, error) {
	select {
	case r := <-p.ch:
		return r, nil
	case <-p.done:
		if p.err == nil || errors.Is(p.err, context.Canceled) {
			return Revocation{}, errors.New("session: revocation subscription closed")
		}
		return Revocation{}, p.err
	case <-ctx.Done():
		return Revocation{}, ctx.Err()
	}
}

// Close implements RevocationSubscription.
func (p *pgRevSub) Close() error {
	p.cancel()
	<-p.done
	return nil
}
