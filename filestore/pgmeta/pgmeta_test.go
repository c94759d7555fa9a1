package pgmeta_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	"github.com/groundwork-go/groundwork/filestore/pgmeta"
	"github.com/groundwork-go/groundwork/filestore/storetest"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var n atomic.Int32

func TestMetadata(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), testserver.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	storetest.RunMetadataTests(t, func(t *testing.T) filestore.MetadataStore {
		// Each test its own tables: the prefix option is exercised too.
		m, err := pgmeta.New(context.Background(), pool, &pgmeta.Options{TablePrefix: fmt.Sprintf("t%d_", n.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	if _, err := pgmeta.New(context.Background(), pool, &pgmeta.Options{TablePrefix: "x; DROP TABLE y"}); err == nil || !strings.Contains(err.Error(), "identifier") {
		t.Fatalf("a table prefix that is no identifier: %v", err)
	}
}

// TestServiceRestartOnPostgres: a resumable upload whose metadata is in
// PostgreSQL survives the process (a new pool and Service), and the file
// it completes is found by a third.
func TestServiceRestartOnPostgres(t *testing.T) {
	ctx := context.Background()
	url := testserver.PostgresURL(t)
	local, err := filestore.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	service := func() (*filestore.Service, func()) {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := pgmeta.New(ctx, pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: local}}, Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		return svc, func() { svc.Close(); pool.Close() }
	}
	svc, stop := service()
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "report.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WritePart(ctx, 1, strings.NewReader("first half, ")); err != nil {
		t.Fatal(err)
	}
	stop()

	svc, stop = service()
	up, err = svc.ResumeUpload(ctx, up.ID())
	if err != nil {
		t.Fatal(err)
	}
	if parts, err := up.Parts(ctx); err != nil || len(parts) != 1 {
		t.Fatalf("parts after the restart: %+v %v", parts, err)
	}
	if _, err := up.WritePart(ctx, 2, strings.NewReader("second half")); err != nil {
		t.Fatal(err)
	}
	rec, err := up.Complete(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	stop()

	svc, stop = service()
	defer stop()
	r, rec, err := svc.Download(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data := make([]byte, 100)
	k, _ := r.Read(data)
	if string(data[:k]) != "first half, second half" || rec.Name != "report.pdf" || rec.Size != 23 {
		t.Fatalf("downloaded %q, record %+v", data[:k], rec)
	}
}

// TestUpgradeOldTables: tables made before parts had a stored time get
// the column from New; their old rows read as stored at the zero time.
func TestUpgradeOldTables(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testserver.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
CREATE TABLE old_uploads (id text PRIMARY KEY, options jsonb NOT NULL, backend text NOT NULL, path text NOT NULL, native text NOT NULL,
  created timestamptz NOT NULL);
CREATE TABLE old_parts (upload_id text NOT NULL REFERENCES old_uploads (id) ON DELETE CASCADE, number int NOT NULL, size bigint NOT NULL,
  sha256 bytea, etag text NOT NULL, PRIMARY KEY (upload_id, number));
INSERT INTO old_uploads VALUES ('u', '{"Name": "n"}', 'local', 'p', '', now());
INSERT INTO old_parts VALUES ('u', 1, 10, NULL, '');`); err != nil {
		t.Fatal(err)
	}
	m, err := pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: "old_"})
	if err != nil {
		t.Fatal(err)
	}
	stored := time.Now().UTC().Truncate(time.Microsecond)
	if err := m.PutPart(ctx, "u", filestore.PartRecord{Number: 2, Size: 5, Stored: stored}); err != nil {
		t.Fatal(err)
	}
	parts, err := m.Parts(ctx, "u")
	if err != nil || len(parts) != 2 || !parts[0].Stored.IsZero() || !parts[1].Stored.Equal(stored) {
		t.Fatalf("parts of an upgraded table: %+v %v", parts, err)
	}
}

// newPool connects to the test server; closed with the test.
func newPool(t *testing.T) *pgxpool.Pool {
	pool, err := pgxpool.New(context.Background(), testserver.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// waitingForLock is closed once some session waits for a lock it has not
// been granted.
func waitingForLock(t *testing.T, pool *pgxpool.Pool, stop <-chan struct{}) <-chan struct{} {
	waiting := make(chan struct{})
	go func() {
		for {
			var n int
			if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&n); err == nil && n > 0 {
				close(waiting)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return waiting
}

// TestNewTakesNoLockOnUpToDateTables: a replica starting on tables that
// are up to date must not queue for a table lock — behind a report or
// pg_dump that reads them, and with every other replica's reads and
// writes then queued behind it. Here a transaction holds the tables
// exclusively, the strongest of such holders: New must return all the
// same, having waited for no lock.
func TestNewTakesNoLockOnUpToDateTables(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	prefix := fmt.Sprintf("nl%d_", n.Add(1))
	if _, err := pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: prefix}); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, fmt.Sprintf("LOCK TABLE %[1]sfiles, %[1]suploads, %[1]sparts IN ACCESS EXCLUSIVE MODE", prefix)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: prefix})
		done <- err
	}()
	stop := make(chan struct{})
	defer close(stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("New on up-to-date tables: %v", err)
		}
	case <-waitingForLock(t, pool, stop):
		tx.Rollback(ctx) // let New go
		<-done
		t.Fatal("New on up-to-date tables waited for a table lock")
	}
}

// TestNewUpgradeBoundedByLockTimeout: tables of an older version need a
// column, but a transaction is reading them: New waits no longer than
// Options.LockTimeout, fails saying why, and upgrades once the reader is
// gone.
func TestNewUpgradeBoundedByLockTimeout(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	prefix := fmt.Sprintf("lt%d_", n.Add(1))
	if _, err := pool.Exec(ctx, fmt.Sprintf(`
CREATE TABLE %[1]suploads (id text PRIMARY KEY, options jsonb NOT NULL, backend text NOT NULL, path text NOT NULL, native text NOT NULL,
  created timestamptz NOT NULL);
CREATE TABLE %[1]sparts (upload_id text NOT NULL REFERENCES %[1]suploads (id) ON DELETE CASCADE, number int NOT NULL, size bigint NOT NULL,
  sha256 bytea, etag text NOT NULL, PRIMARY KEY (upload_id, number));`, prefix)); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM "+prefix+"parts"); err != nil {
		t.Fatal(err)
	}
	_, err = pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: prefix, LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "LockTimeout") {
		t.Fatalf("New needing a lock a reader holds: %v; want it refused after LockTimeout", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: prefix, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("New once the reader is gone: %v", err)
	}
	if err := m.PutUpload(ctx, &filestore.UploadRecord{ID: "u", Backend: "local", Path: "p", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := m.PutPart(ctx, "u", filestore.PartRecord{Number: 1, Size: 1, Stored: time.Now()}); err != nil {
		t.Fatalf("PutPart on the upgraded tables: %v", err)
	}
	if _, err := pgmeta.New(ctx, pool, &pgmeta.Options{LockTimeout: time.Microsecond}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("a LockTimeout below a millisecond: %v", err)
	}
}

// TestServiceRefusesTextPostgresCannotKeep: text PostgreSQL refuses (NUL
// anywhere, invalid UTF-8) is refused by the Service before anything is
// stored, as fs.ErrInvalid naming the field — not by the database at the
// end (SQLSTATE 22021), and for a resumable upload not by Complete after
// every part was sent.
func TestServiceRefusesTextPostgresCannotKeep(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	m, err := pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: fmt.Sprintf("tx%d_", n.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	local, err := filestore.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	svc, err := filestore.NewService(filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: local}}, Metadata: m})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for field, o := range map[string]filestore.UploadOptions{
		"Owner":       {Name: "ok.txt", Owner: "alice\x00admin"},
		"ContentType": {Name: "ok.txt", ContentType: "text/plain\x00"},
		"Name":        {Name: "caf\xe9.txt"}, // Latin-1, not UTF-8
	} {
		if _, err := svc.Upload(ctx, strings.NewReader("x"), o); !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("Upload with a bad %s: %v; want fs.ErrInvalid naming it", field, err)
		}
		if _, err := svc.StartUpload(ctx, o); !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("StartUpload with a bad %s: %v; want fs.ErrInvalid naming it", field, err)
		}
	}
	if _, err := svc.Stat(ctx, "a\x00b"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of an ID with NUL: %v, want fs.ErrNotExist", err)
	}
}
