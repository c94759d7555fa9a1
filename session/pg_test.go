package session_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// newTestPostgresStore returns a PostgresStore on a database of its own,
// in the package's shared cluster (or the one GROUNDWORK_POSTGRES_URL
// names). Tests that need many stores take the cluster's URL once with
// sharedPostgres.Get and call newTestPostgresStoreOn instead.
func newTestPostgresStore(t testing.TB) *session.PostgresStore {
	t.Helper()
	return newTestPostgresStoreOn(t, sharedPostgres.Get(t))
}

// sharedPostgres is the PostgreSQL cluster the package's tests make their
// databases in, each test its own (newTestPostgresPool), as they do in a
// cluster named by GROUNDWORK_POSTGRES_URL: one initdb for the package
// instead of one a test.
var sharedPostgres = testserver.NewShared(testserver.PostgresURL)

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
	cfg := testserver.PostgresDatabase(t, url, "gw_session")
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
