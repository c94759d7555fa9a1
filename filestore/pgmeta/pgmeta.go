// Package pgmeta keeps the storage Service's metadata in PostgreSQL,
// through pgx: filestore.MetadataStore on a *pgxpool.Pool.
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
//	meta, err := pgmeta.New(ctx, pool, nil) // creates its tables if missing
//	svc, err := filestore.NewService(filestore.ServiceOptions{Backends: ..., Metadata: meta})
//
// # Tables
//
// <prefix>files, <prefix>uploads and <prefix>parts (prefix "filestore_"
// unless Options.TablePrefix). A part references its upload and goes with
// it (ON DELETE CASCADE). Records not ready are indexed by creation time
// for Cleanup.
//
// New first reads the catalog, which locks no table: when every table,
// index and column is there (every start but the first, or the first
// after an upgrade) it runs no DDL, so a replica starting while others
// work, or while a report or pg_dump reads the tables, waits for nothing.
// Otherwise it creates what is missing (CREATE ... IF NOT EXISTS; tables
// made by an older version get the columns added since) in one
// transaction, under an advisory lock so that replicas starting together
// take turns, and with lock_timeout set to Options.LockTimeout: a table
// lock that is not granted in time fails New with an error saying so,
// rather than queueing every other session's reads and writes behind it.
//
// # Guarantees
//
// Each method is one statement, atomic on its own, but CompleteUpload,
// one transaction; the Service orders them (pending record, object, ready
// record) so that no record points at a missing object. UpdateFile is a
// compare-and-set (UPDATE ... WHERE state = the expected one): of racing
// callers exactly one moves a record, the others get
// filestore.ErrConflict. CompleteUpload deletes the upload and moves its
// file from pending to ready together, or does neither. Missing records
// are fs.ErrNotExist.
//
// # Errors
//
// A record that fails Validate (text that is not UTF-8 or holds NUL,
// which PostgreSQL's text and jsonb refuse) is fs.ErrInvalid naming the
// field, before anything is sent; an ID no record can have is
// fs.ErrNotExist. filestore.ErrConflict and fs.ErrNotExist as above;
// other errors are pgx's, wrapped with the operation and record.
package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/filestore"
)

// Options configure New; nil means all defaults.
type Options struct {
	// TablePrefix prefixes the table names, default "filestore_"; letters,
	// digits and underscores only.
	TablePrefix string
	// LockTimeout bounds how long New waits for a lock when it must
	// create or upgrade the tables; default 5 seconds.
	LockTimeout time.Duration
}

// Store is a filestore.MetadataStore in PostgreSQL.
type Store struct {
	pool                  *pgxpool.Pool
	files, uploads, parts string
}

var _ filestore.MetadataStore = (*Store)(nil)

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// New creates the tables if they are missing and returns the store.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	prefix, lockTimeout := "filestore_", 5*time.Second
	if opts != nil && opts.TablePrefix != "" {
		prefix = opts.TablePrefix
	}
	if opts != nil && opts.LockTimeout != 0 {
		lockTimeout = opts.LockTimeout
	}
	if pool == nil || !identifier.MatchString(prefix) {
		return nil, fmt.Errorf("%w: pgmeta.New: nil pool or table prefix %q not an identifier", fs.ErrInvalid, prefix)
	}
	if lockTimeout < time.Millisecond {
		return nil, fmt.Errorf("%w: pgmeta.New: Options.LockTimeout %v: want 1 ms or more", fs.ErrInvalid, lockTimeout)
	}
	s := &Store{pool: pool, files: prefix + "files", uploads: prefix + "uploads", parts: prefix + "parts"}
	var upToDate bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL
  AND to_regclass($4) IS NOT NULL AND to_regclass($5) IS NOT NULL
  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($3) AND attname = 'stored' AND NOT attisdropped)`,
		s.files, s.uploads, s.parts, s.files+"_unfinished", s.uploads+"_created").Scan(&upToDate); err != nil {
		return nil, fmt.Errorf("pgmeta: reading the catalog: %w", err)
	}
	if !upToDate {
		if err := s.migrate(ctx, prefix, lockTimeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// migrate creates the tables, indexes and columns that are missing.
func (s *Store) migrate(ctx context.Context, prefix string, lockTimeout time.Duration) error {
	ddl := fmt.Sprintf(`
CREATE TABLE IF NOT EXISTS %[1]s (
  id text PRIMARY KEY, name text NOT NULL, size bigint NOT NULL, sha256 bytea, content_type text NOT NULL,
  backend text NOT NULL, path text NOT NULL, owner text NOT NULL, created timestamptz NOT NULL, state text NOT NULL);
CREATE INDEX IF NOT EXISTS %[1]s_unfinished ON %[1]s (created) WHERE state <> 'ready';
CREATE TABLE IF NOT EXISTS %[2]s (
  id text PRIMARY KEY, options jsonb NOT NULL, backend text NOT NULL, path text NOT NULL, native text NOT NULL,
  created timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS %[2]s_created ON %[2]s (created);
CREATE TABLE IF NOT EXISTS %[3]s (
  upload_id text NOT NULL REFERENCES %[2]s (id) ON DELETE CASCADE, number int NOT NULL, size bigint NOT NULL,
  sha256 bytea, etag text NOT NULL, stored timestamptz, PRIMARY KEY (upload_id, number));
ALTER TABLE %[3]s ADD COLUMN IF NOT EXISTS stored timestamptz;`, s.files, s.uploads, s.parts)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// SET LOCAL takes no parameters; the value is a number of ms.
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", lockTimeout.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "groundwork filestore pgmeta "+prefix); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" /* lock_not_available */ {
		return fmt.Errorf("pgmeta: creating or upgrading tables %s*: a lock was not granted within Options.LockTimeout (%v): another session holds the tables; try again: %w",
			prefix, lockTimeout, err)
	}
	if err != nil {
		return fmt.Errorf("pgmeta: creating or upgrading tables %s*: %w", prefix, err)
	}
	return nil
}

// validID reports whether id can be a record's: others (not UTF-8, or
// with NUL) are never stored, so looking them up finds nothing.
func validID(id string) bool { return utf8.ValidString(id) && strings.IndexByte(id, 0) < 0 }

func notFound(kind, id string) error {
	return fmt.Errorf("pgmeta: %s %q: %w", kind, id, fs.ErrNotExist)
}

// CreateFile implements filestore.MetadataStore.
func (s *Store) CreateFile(ctx context.Context, f *filestore.FileRecord) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("pgmeta: create file: %w", err)
	}
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, name, size, sha256, content_type, backend, path, owner, created, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`, s.files),
		f.ID, f.Name, f.Size, f.SHA256, f.ContentType, f.Backend, f.Path, f.Owner, f.Created, string(f.State))
	if err != nil {
		return fmt.Errorf("pgmeta: create file %q: %w", f.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgmeta: create file %q: %w", f.ID, fs.ErrExist)
	}
	return nil
}

// UpdateFile implements filestore.MetadataStore: one UPDATE whose WHERE
// holds the expected state.
func (s *Store) UpdateFile(ctx context.Context, f *filestore.FileRecord, from filestore.FileState) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("pgmeta: update file: %w", err)
	}
	if !from.CanBecome(f.State) {
		return fmt.Errorf("%w: pgmeta: update file %q: a record never moves from %s to %s", filestore.ErrConflict, f.ID, from, f.State)
	}
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`UPDATE %s SET name = $2, size = $3, sha256 = $4, content_type = $5, backend = $6, path = $7,
  owner = $8, created = $9, state = $10 WHERE id = $1 AND state = $11`, s.files),
		f.ID, f.Name, f.Size, f.SHA256, f.ContentType, f.Backend, f.Path, f.Owner, f.Created, string(f.State), string(from))
	if err != nil {
		return fmt.Errorf("pgmeta: update file %q: %w", f.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.whyNot(ctx, s.pool, "update", f.ID, from)
}

// whyNot says why an UPDATE expecting state from matched nothing: no
// record (fs.ErrNotExist), or another state (ErrConflict). The answer may
// be stale by now, but the update did not happen either way.
func (s *Store) whyNot(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, op, id string, from filestore.FileState) error {
	var state string
	err := q.QueryRow(ctx, fmt.Sprintf("SELECT state FROM %s WHERE id = $1", s.files), id).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return notFound("file", id)
	case err != nil:
		return fmt.Errorf("%w: pgmeta: %s file %q (and reading its state: %v)", filestore.ErrConflict, op, id, err)
	}
	return fmt.Errorf("%w: pgmeta: %s file %q: it is %s, not %s", filestore.ErrConflict, op, id, state, from)
}

// CompleteUpload implements filestore.MetadataStore: one transaction
// deletes the upload (its parts cascade) and moves its file from pending
// to ready; if either finds nothing, it is rolled back.
func (s *Store) CompleteUpload(ctx context.Context, f *filestore.FileRecord) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("pgmeta: complete upload: %w", err)
	}
	if f.State != filestore.FileReady {
		return fmt.Errorf("%w: pgmeta: complete upload %q: completing an upload makes its file ready, not %s", filestore.ErrConflict, f.ID, f.State)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The DELETE locks the upload's row: a concurrent CompleteUpload
		// waits, then finds it gone.
		tag, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE id = $1", s.uploads), f.ID)
		if err != nil {
			return fmt.Errorf("pgmeta: complete upload %q: %w", f.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("upload", f.ID)
		}
		tag, err = tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET name = $2, size = $3, sha256 = $4, content_type = $5, backend = $6, path = $7,
  owner = $8, created = $9, state = $10 WHERE id = $1 AND state = $11`, s.files),
			f.ID, f.Name, f.Size, f.SHA256, f.ContentType, f.Backend, f.Path, f.Owner, f.Created, string(f.State), string(filestore.FilePending))
		if err != nil {
			return fmt.Errorf("pgmeta: complete upload %q: %w", f.ID, err)
		}
		if tag.RowsAffected() == 0 {
			err := s.whyNot(ctx, tx, "complete upload of", f.ID, filestore.FilePending)
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%w: pgmeta: complete upload %q: its file has no record", filestore.ErrConflict, f.ID)
			}
			return err
		}
		return nil
	})
}

const fileColumns = "id, name, size, sha256, content_type, backend, path, owner, created, state"

func scanFile(row pgx.Row) (*filestore.FileRecord, error) {
	f := &filestore.FileRecord{}
	var state string
	err := row.Scan(&f.ID, &f.Name, &f.Size, &f.SHA256, &f.ContentType, &f.Backend, &f.Path, &f.Owner, &f.Created, &state)
	f.State = filestore.FileState(state)
	return f, err
}

// GetFile implements filestore.MetadataStore.
func (s *Store) GetFile(ctx context.Context, id string) (*filestore.FileRecord, error) {
	if !validID(id) {
		return nil, notFound("file", id)
	}
	f, err := scanFile(s.pool.QueryRow(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE id = $1", fileColumns, s.files), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("file", id)
	}
	if err != nil {
		return nil, fmt.Errorf("pgmeta: get file %q: %w", id, err)
	}
	return f, nil
}

// DeleteFile implements filestore.MetadataStore.
func (s *Store) DeleteFile(ctx context.Context, id string) error {
	return s.deleteOne(ctx, s.files, "file", id)
}

func (s *Store) deleteOne(ctx context.Context, table, kind, id string) error {
	if !validID(id) {
		return notFound(kind, id)
	}
	tag, err := s.pool.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE id = $1", table), id)
	if err != nil {
		return fmt.Errorf("pgmeta: delete %s %q: %w", kind, id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(kind, id)
	}
	return nil
}

// StaleFiles implements filestore.MetadataStore.
func (s *Store) StaleFiles(ctx context.Context, before time.Time) ([]*filestore.FileRecord, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE state <> 'ready' AND created < $1 ORDER BY created",
		fileColumns, s.files), before)
	if err != nil {
		return nil, fmt.Errorf("pgmeta: stale files: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*filestore.FileRecord, error) { return scanFile(r) })
	if err != nil {
		return nil, fmt.Errorf("pgmeta: stale files: %w", err)
	}
	return out, nil
}

// PutUpload implements filestore.MetadataStore.
func (s *Store) PutUpload(ctx context.Context, u *filestore.UploadRecord) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("pgmeta: put upload: %w", err)
	}
	opts, err := json.Marshal(u.Options)
	if err != nil {
		return fmt.Errorf("pgmeta: put upload %q: %w", u.ID, err)
	}
	_, err = s.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, options, backend, path, native, created) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET options = $2, backend = $3, path = $4, native = $5, created = $6`, s.uploads),
		u.ID, opts, u.Backend, u.Path, u.Native, u.Created)
	if err != nil {
		return fmt.Errorf("pgmeta: put upload %q: %w", u.ID, err)
	}
	return nil
}

const uploadColumns = "id, options, backend, path, native, created"

func scanUpload(row pgx.Row) (*filestore.UploadRecord, error) {
	u := &filestore.UploadRecord{}
	var opts []byte
	if err := row.Scan(&u.ID, &opts, &u.Backend, &u.Path, &u.Native, &u.Created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(opts, &u.Options); err != nil {
		return nil, fmt.Errorf("upload %q: options: %w", u.ID, err)
	}
	return u, nil
}

// GetUpload implements filestore.MetadataStore.
func (s *Store) GetUpload(ctx context.Context, id string) (*filestore.UploadRecord, error) {
	if !validID(id) {
		return nil, notFound("upload", id)
	}
	u, err := scanUpload(s.pool.QueryRow(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE id = $1", uploadColumns, s.uploads), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("upload", id)
	}
	if err != nil {
		return nil, fmt.Errorf("pgmeta: get upload %q: %w", id, err)
	}
	return u, nil
}

// PutPart implements filestore.MetadataStore: the part is inserted only
// if its upload exists (in the same statement).
func (s *Store) PutPart(ctx context.Context, uploadID string, p filestore.PartRecord) error {
	if !validID(uploadID) {
		return notFound("upload", uploadID)
	}
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (upload_id, number, size, sha256, etag, stored)
SELECT id, $2, $3, $4, $5, $6 FROM %s WHERE id = $1
ON CONFLICT (upload_id, number) DO UPDATE SET size = $3, sha256 = $4, etag = $5, stored = $6`, s.parts, s.uploads),
		uploadID, p.Number, p.Size, p.SHA256, p.ETag, p.Stored)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" { // foreign key: the upload went meanwhile
		return notFound("upload", uploadID)
	}
	if err != nil {
		return fmt.Errorf("pgmeta: put part %d of %q: %w", p.Number, uploadID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("upload", uploadID)
	}
	return nil
}

// Parts implements filestore.MetadataStore.
func (s *Store) Parts(ctx context.Context, uploadID string) ([]filestore.PartRecord, error) {
	if _, err := s.GetUpload(ctx, uploadID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf("SELECT number, size, sha256, etag, stored FROM %s WHERE upload_id = $1 ORDER BY number", s.parts), uploadID)
	if err != nil {
		return nil, fmt.Errorf("pgmeta: parts of %q: %w", uploadID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (filestore.PartRecord, error) {
		var p filestore.PartRecord
		var stored *time.Time // NULL in rows from before the column
		err := r.Scan(&p.Number, &p.Size, &p.SHA256, &p.ETag, &stored)
		if stored != nil {
			p.Stored = *stored
		}
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgmeta: parts of %q: %w", uploadID, err)
	}
	return out, nil
}

// DeleteUpload implements filestore.MetadataStore; its parts go with it.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.deleteOne(ctx, s.uploads, "upload", id)
}

// StaleUploads implements filestore.MetadataStore: created before the
// time, and no part stored since.
func (s *Store) StaleUploads(ctx context.Context, before time.Time) ([]*filestore.UploadRecord, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s u WHERE created < $1
  AND NOT EXISTS (SELECT 1 FROM %s p WHERE p.upload_id = u.id AND p.stored >= $1) ORDER BY created`, uploadColumns, s.uploads, s.parts), before)
	if err != nil {
		return nil, fmt.Errorf("pgmeta: stale uploads: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*filestore.UploadRecord, error) { return scanUpload(r) })
	if err != nil {
		return nil, fmt.Errorf("pgmeta: stale uploads: %w", err)
	}
	return out, nil
}
