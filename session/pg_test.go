package session_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// newTestPostgresStore returns a PostgresStore on a database of its own,
// in a cluster started for t (or the one GROUNDWORK_POSTGRES_URL names).
// Tests that need many stores start the cluster once with
// testserver.PostgresURL and call newTestPostgresStoreOn instead.
func newTestPostgresStore(t testing.TB) *session.PostgresStore {
	t.Helper()
	return newTestPostgresStoreOn(t, testserver.PostgresURL(t))
}

var pgDatabases atomic.Int64

// newTestPostgresStoreOn creates a fresh database in the cluster at url,
// returns a PostgresStore on it, and closes the store, its pool and drops
// the database when t ends.
func newTestPostgresStoreOn(t testing.TB, url string) *session.PostgresStore {
	t.Helper()
	pool := newTestPostgresPool(t, url)
	s, err := session.NewPostgresStore(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newTestPostgresPool creates a fresh database in the cluster at url and
// returns a pool on it; both go when t ends.
func newTestPostgresPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s: %v", url, err)
	}
	name := fmt.Sprintf("gw_session_%d_%d", os.Getpid(), pgDatabases.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close(ctx)
		t.Fatalf("create database %s: %v", name, err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	})
	return pool
}
