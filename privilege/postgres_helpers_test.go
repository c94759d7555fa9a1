package privilege_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/privilege"
)

// sharedPostgres is the PostgreSQL cluster the package's tests make their
// databases in, each test its own (testserver.PostgresDatabase), as they
// do in a cluster named by GROUNDWORK_POSTGRES_URL: one initdb for the
// package instead of one a test. Tests that stop or pause PostgreSQL
// start their own (testserver.StartPostgres).
var sharedPostgres = testserver.NewShared(testserver.PostgresURL)

// pgCluster returns the URL of the PostgreSQL cluster t's databases go
// in, and checks that no goroutine outlives t: the check is registered
// first, so it runs last, after every pool and store has closed.
func pgCluster(t *testing.T) string {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	return sharedPostgres.Get(t)
}

// newPGPool creates a fresh database in the cluster at url and returns a
// pool on it; both go when t ends.
func newPGPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	cfg := testserver.PostgresDatabase(t, url, "gw_privilege")
	cfg.MaxConns = 10 // concurrent writers, lock holders and an observer at once
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newPGStore returns a PostgresStore made with opts on a database of its
// own in the cluster at url, with its pool.
func newPGStore(t testing.TB, url string, opts ...privilege.StoreOption) (*privilege.PostgresStore, *pgxpool.Pool) {
	t.Helper()
	pool := newPGPool(t, url)
	s, err := privilege.NewPostgresStore(context.Background(), pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, pool
}

// pgStores returns a maker of PostgresStores made with opts, each on a
// database of its own in the cluster at url, for privilegetest.
func pgStores(url string, opts ...privilege.StoreOption) func(*testing.T) privilege.Store {
	return func(t *testing.T) privilege.Store {
		s, _ := newPGStore(t, url, opts...)
		return s
	}
}

// standInValidateRole is a cycle check standing in for the shared
// validateRole, so that the store's locking is tested on its own: it
// walks up from r's parents through parentsOf and fails if it meets r.
func standInValidateRole(r privilege.Role, parentsOf func(string) ([]string, bool), _ func(string) []string) error {
	seen := map[string]bool{}
	var walk func(id string) error
	walk = func(id string) error {
		if id == r.ID {
			return fmt.Errorf("%w: %q reaches itself", privilege.ErrCycle, r.ID)
		}
		if seen[id] {
			return nil
		}
		seen[id] = true
		ps, ok := parentsOf(id)
		if !ok {
			return fmt.Errorf("%w: parent %q", privilege.ErrNotFound, id)
		}
		for _, p := range ps {
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range r.Parents {
		if err := walk(p); err != nil {
			return err
		}
	}
	return nil
}

// waitLockWaiters waits until n backends of pool's database wait on a
// lock, or done is closed first (the write did not wait: no lock), and
// reports which.
func waitLockWaiters(t *testing.T, pool *pgxpool.Pool, n int, done <-chan struct{}) (waited bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		var waiting int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
  WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("gave up after 30s waiting for %d backends to wait on a lock", n)
	return false
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantIs(t *testing.T, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("error %v: want one of %v", err, targets)
}

func version(t *testing.T, s privilege.Store) uint64 {
	t.Helper()
	v, err := s.Version(context.Background())
	mustNil(t, err)
	return v
}
