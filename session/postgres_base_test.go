package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// TestPostgresConcurrentStart: instances starting at once on an empty
// database all succeed (CREATE TABLE IF NOT EXISTS alone races in
// PostgreSQL: the loser fails on the catalog's unique index).
func TestPostgresConcurrentStart(t *testing.T) {
	url := sharedPostgres.Get(t)
	for round := range 5 {
		pool := newTestPostgresPool(t, url)
		const n = 8
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				var s *session.PostgresStore
				s, errs[i] = session.NewPostgresStore(pool)
				if s != nil {
					_ = s.Close()
				}
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, instance %d: %v", round, i, err)
			}
		}
	}
}

// TestPostgresStartTakesNoTableLock: once the tables are up to date, a
// new instance runs no DDL, so a long transaction holding a lock on a
// table (a report, a pg_dump, a migration of the application's own) does
// not stop it from starting.
func TestPostgresStartTakesNoTableLock(t *testing.T) {
	defer session.DevicesSetPgLockTimeout(300 * time.Millisecond)()
	ctx := context.Background()
	pool := newTestPostgresPool(t, sharedPostgres.Get(t))
	if _, err := session.NewPostgresStore(pool); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// SHARE ROW EXCLUSIVE conflicts with CREATE INDEX's SHARE lock, and
	// lets plain reads through.
	if _, err := tx.Exec(ctx, "LOCK TABLE session_devices IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	if _, err := session.NewPostgresStore(pool); err != nil {
		t.Fatalf("a start with the tables up to date waited for a table lock: %v", err)
	}
	// When the DDL must run (another version made the tables), the wait
	// for the lock is bounded and the error says why.
	if _, err := pool.Exec(ctx, "UPDATE session_schema SET ddl_sha256 = 'older version'"); err != nil {
		t.Fatal(err)
	}
	if _, err := session.NewPostgresStore(pool); err == nil || !strings.Contains(err.Error(), "lock was not granted") {
		t.Fatalf("a start that must run DDL under a held table lock: %v, want a bounded lock wait", err)
	}
	_ = tx.Rollback(ctx)
	if _, err := session.NewPostgresStore(pool); err != nil {
		t.Fatalf("once the lock is gone: %v", err)
	}
}

// TestIsUnavailable: the breaker's classifier says "unavailable" for
// errors that mean the store cannot be reached, from real servers, and
// not for answers or the caller's context.
func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	// PostgreSQL ending a connection (admin_shutdown, 57P01).
	conn, err := pgx.Connect(ctx, sharedPostgres.Get(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
	if err == nil || !session.DevicesIsUnavailable(fmt.Errorf("wrapped: %w", err)) {
		t.Fatalf("a terminated connection: %v", err)
	}
	// Nothing listening.
	port := testserver.FreePort(t)
	pool, err := pgxpool.New(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?connect_timeout=5", port))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "SELECT 1"); err == nil || !session.DevicesIsUnavailable(err) {
		t.Fatalf("PostgreSQL not listening: %v", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err == nil || !session.DevicesIsUnavailable(err) {
		t.Fatalf("Redis not listening: %v", err)
	}
	// Answers and the caller's context are not outages.
	pool2 := newTestPostgresPool(t, sharedPostgres.Get(t))
	_, err = pool2.Exec(ctx, "SELECT 1/0")
	for _, e := range []error{err, session.ErrNoSession, session.ErrInvalid, context.Canceled,
		fmt.Errorf("x: %w", context.DeadlineExceeded), redis.Nil, errors.New("other")} {
		if session.DevicesIsUnavailable(e) {
			t.Errorf("%v classified as unavailable", e)
		}
	}
}

// TestPostgresStoreClose: Close is idempotent and ends every method.
func TestPostgresStoreClose(t *testing.T) {
	s := newTestPostgresStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.ListDevices(context.Background(), "alice", time.Now()); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}
