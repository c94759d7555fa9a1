package pgmeta_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

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
