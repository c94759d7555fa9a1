package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgDevicesDDL makes the devices table: one row per device, found by
// selector, listed by user. prev_until is NULL until the first rotation.
const pgDevicesDDL = `
CREATE TABLE IF NOT EXISTS session_devices (
  selector text PRIMARY KEY, user_id text NOT NULL, hash text NOT NULL, prev_hash text NOT NULL DEFAULT '',
  prev_until timestamptz, label text NOT NULL, created timestamptz NOT NULL, last_used timestamptz NOT NULL,
  expires timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS session_devices_user ON session_devices (user_id, created);
CREATE INDEX IF NOT EXISTS session_devices_expires ON session_devices (expires);`

const pgDeviceColumns = `selector, user_id, hash, prev_hash, COALESCE(prev_until, 'epoch'), label, created, last_used, expires`

func scanDevice(row pgx.Row) (*DeviceRecord, error) {
	d := &DeviceRecord{}
	err := row.Scan(&d.Selector, &d.UserID, &d.Hash, &d.PrevHash, &d.PrevUntil, &d.Label, &d.Created, &d.LastUsed, &d.Expires)
	return d, err
}

// SaveDevice stores a new device; see DeviceStore.
func (s *PostgresStore) SaveDevice(ctx context.Context, d *DeviceRecord) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := validateDevice(d); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO session_devices (selector, user_id, hash, label, created, last_used, expires)
  VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.Selector, d.UserID, d.Hash, d.Label, d.Created, d.LastUsed, d.Expires)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" /* unique_violation */ {
		return fmt.Errorf("%w: device selector %s is taken", ErrInvalid, d.Selector)
	}
	if err != nil {
		return wrapOp("postgres: save device", err)
	}
	return nil
}

// GetDevice returns a live device; see DeviceStore.
func (s *PostgresStore) GetDevice(ctx context.Context, selector string, now time.Time) (*DeviceRecord, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	if !validSelector(selector) {
		return nil, ErrNoSession
	}
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+pgDeviceColumns+` FROM session_devices WHERE selector = $1 AND expires > $2`, selector, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, wrapOp("postgres: get device", err)
	}
	return d, nil
}

// RotateDevice replaces a device's validator by compare-and-set; see
// DeviceStore.
func (s *PostgresStore) RotateDevice(ctx context.Context, userID, selector, oldHash, newHash string, now, prevUntil, expires time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return err
	}
	if !validHash(newHash) {
		return fmt.Errorf("%w: device hash: want 64 lowercase hex digits", ErrInvalid)
	}
	if !expires.After(now) {
		return fmt.Errorf("%w: device %s: expires %v is not after now %v", ErrInvalid, selector, expires, now)
	}
	// One statement: the update happens only when the hash is still
	// oldHash; the row read beside it says why not otherwise.
	var rotated, exists bool
	err := s.pool.QueryRow(ctx, `WITH u AS (
  UPDATE session_devices SET prev_hash = hash, prev_until = $5, hash = $4, last_used = $6, expires = $7
  WHERE selector = $1 AND user_id = $2 AND hash = $3 AND expires > $6 RETURNING 1)
SELECT EXISTS (SELECT 1 FROM u),
  EXISTS (SELECT 1 FROM session_devices WHERE selector = $1 AND user_id = $2 AND expires > $6)`,
		selector, userID, oldHash, newHash, prevUntil, now, expires).Scan(&rotated, &exists)
	switch {
	case err != nil:
		return wrapOp("postgres: rotate device", err)
	case rotated:
		return nil
	case exists:
		return ErrDeviceChanged
	}
	return ErrNoSession
}

// ListDevices returns a user's live devices, deleting the expired ones;
// see DeviceStore.
func (s *PostgresStore) ListDevices(ctx context.Context, userID string, now time.Time) ([]*DeviceRecord, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM session_devices WHERE user_id = $1 AND expires <= $2`, userID, now); err != nil {
		return nil, wrapOp("postgres: list devices", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+pgDeviceColumns+` FROM session_devices WHERE user_id = $1 AND expires > $2
  ORDER BY created, selector`, userID, now)
	if err != nil {
		return nil, wrapOp("postgres: list devices", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*DeviceRecord, error) { return scanDevice(r) })
	if err != nil {
		return nil, wrapOp("postgres: list devices", err)
	}
	// Go's order, which is the stores' common one (PostgreSQL's text
	// order depends on the collation).
	sortDevices(out)
	return out, nil
}

// DeleteDevice removes one of a user's devices; see DeviceStore.
func (s *PostgresStore) DeleteDevice(ctx context.Context, userID, selector string) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return err
	}
	if !validSelector(selector) {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM session_devices WHERE selector = $1 AND user_id = $2`, selector, userID); err != nil {
		return wrapOp("postgres: delete device", err)
	}
	return nil
}

// DeleteUserDevices removes all of a user's devices; see DeviceStore.
func (s *PostgresStore) DeleteUserDevices(ctx context.Context, userID string) (int, error) {
	if s.closed.isClosed() {
		return 0, ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM session_devices WHERE user_id = $1`, userID)
	if err != nil {
		return 0, wrapOp("postgres: delete user devices", err)
	}
	return int(tag.RowsAffected()), nil
}
