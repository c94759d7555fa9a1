package eventstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq/eventstore"
)

var pg = testserver.NewShared(func(t testing.TB) string { return testserver.PostgresURL(t) })

func TestMain(m *testing.M) { goleak.VerifyTestMain(pg.StopAfter(m)) }

// newPool returns a pool on a fresh database of the shared cluster.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), testserver.PostgresDatabase(t, pg.Get(t), "es"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newPostgresBackend(t testing.TB) eventstore.Backend {
	t.Helper()
	b, err := eventstore.NewPostgresBackend(context.Background(), newPool(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newDatabase creates a fresh database in the cluster at
// url and returns its pool configuration.
func newDatabase(t testing.TB, url string) *pgxpool.Config {
	return testserver.PostgresDatabase(t, url, "es")
}
