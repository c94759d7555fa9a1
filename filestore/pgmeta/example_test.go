package pgmeta_test

import (
	"context"
	"log"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	"github.com/groundwork-go/groundwork/filestore/pgmeta"
)

// Example keeps the storage Service's records in PostgreSQL, so that they
// outlive the process and are shared by its replicas. It needs a PostgreSQL
// server, and, the first time, a role that may create tables in the
// database (New creates them if missing). Having no Output comment, it is
// compiled but not run by go test.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	meta, err := pgmeta.New(ctx, pool, &pgmeta.Options{TablePrefix: "media_"})
	if err != nil {
		log.Fatal(err)
	}

	local, err := filestore.Open(ctx, "file:///srv/files?mkdir=true")
	if err != nil {
		log.Fatal(err)
	}
	defer local.Close()
	svc, err := filestore.NewService(filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "local", Store: local}},
		Metadata: meta,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	rec, err := svc.Upload(ctx, strings.NewReader("total: 42 EUR"), filestore.UploadOptions{Name: "invoice-42.txt"})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("stored %s on %s", rec.ID, rec.Backend) // the record is in media_files
}
