package pgmeta_test

import (
	"context"
	"fmt"
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
		svc, err := filestore.NewService(filestore.ServiceOptions{Backends: map[string]*filestore.Store{"local": local}, Metadata: meta})
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
	id, _, err := up.Complete(ctx)
	if err != nil {
		t.Fatal(err)
	}
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
