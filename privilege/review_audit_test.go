package privilege_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/resilience"
)

func TestReviewPostgresAudit(t *testing.T) {
	url := pgCluster(t)
	t.Run("HugeSubjectAlone", func(t *testing.T) { testReviewHugeSubject(t, url) })
	t.Run("RetryWhileFirstAttemptRuns", func(t *testing.T) { testReviewRetryInFlight(t, url) })
}

// testReviewHugeSubject: a subject too large for the (subject, time)
// index is refused by PostgreSQL as a program limit (SQLSTATE 54000),
// not a data error. It must be split out and given up alone, not take
// its batch down with it.
func testReviewHugeSubject(t *testing.T, url string) {
	h := newPGAudit(t, url, privilege.WithAuditBatch(8, time.Hour),
		privilege.WithAuditRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, NoJitter: true, MaxAttempts: 2}))
	raw := make([]byte, 8000)
	_, _ = rand.Read(raw)
	huge := hex.EncodeToString(raw) // 16,000 bytes that do not compress
	for i := range 8 {
		sub := "ann"
		if i == 3 {
			sub = huge
		}
		h.sink.Audit(bg, privilege.AuditEvent{Subject: sub, Resource: "r", Action: "a", Source: "computed", Time: time.Now()})
	}
	h.waitCounts(t, 0, 1, 7)
	mustNil(t, h.sink.Shutdown(bg))
	if rows := auditRows(t, h.pool); len(rows) != 7 {
		t.Fatalf("%d rows, want 7", len(rows))
	}
}

// cutConn is a client connection the test can cut; it reports the
// connection that sent a COPY's end (CopyDone).
type cutConn struct {
	net.Conn
	copyDone func(*cutConn)
}

var copyDoneMsg = []byte{'c', 0, 0, 0, 4}

func (c *cutConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err == nil && bytes.Contains(p, copyDoneMsg) {
		c.copyDone(c)
	}
	return n, err
}

// testReviewRetryInFlight: the network fails while the server is still
// running a COPY (held by a lock): the client's connection is cut and
// pgx's cancel request cannot reach the server either. The retry's
// look-up finds nothing (nothing is committed yet) and writes the batch
// again; then the first COPY commits too: every event twice. The retry
// must wait for the first attempt's outcome.
func testReviewRetryInFlight(t *testing.T, url string) {
	cfg := testserver.PostgresDatabase(t, url, "gw_privilege")
	cfg.MaxConns = 10
	var once sync.Once
	sent := make(chan *cutConn, 1)
	var partitioned atomic.Bool
	cancelRefused := make(chan struct{}, 100)
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if partitioned.Load() {
			if _, ok := ctx.Deadline(); ok { // pgx's cancel request has a deadline
				cancelRefused <- struct{}{}
			}
			return nil, errors.New("network unreachable (test partition)")
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cutConn{Conn: c, copyDone: func(c *cutConn) { once.Do(func() { sent <- c }) }}, nil
	}
	pool, err := pgxpool.NewWithConfig(bg, cfg)
	mustNil(t, err)
	t.Cleanup(pool.Close)
	mustNil(t, privilege.MigratePostgres(bg, pool))

	// A gate every inserted row passes, closed by the test.
	const gateKey = 4242
	_, err = pool.Exec(bg, `CREATE FUNCTION review_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$;
CREATE TRIGGER review_gate BEFORE INSERT ON privilege_audit FOR EACH ROW EXECUTE FUNCTION review_gate()`)
	mustNil(t, err)
	gate, err := pgx.ConnectConfig(bg, cfg.ConnConfig)
	mustNil(t, err)
	defer gate.Close(bg)
	_, err = gate.Exec(bg, `SELECT pg_advisory_lock($1)`, gateKey)
	mustNil(t, err)
	observer, err := pgx.ConnectConfig(bg, cfg.ConnConfig) // opened before the partition
	mustNil(t, err)
	defer observer.Close(bg)

	attempts := make(chan error, 1000)
	hooks := privilege.AuditOption(func(o *batcher.Options) error {
		o.Tick = make(chan time.Time) // no timed flushes
		o.OnAttempt = func(_ int, err error) {
			select {
			case attempts <- err:
			default:
			}
		}
		return nil
	})
	sink, err := privilege.NewPostgresAudit(pool, hooks, privilege.WithAuditBatch(5, time.Hour),
		privilege.WithAuditRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, NoJitter: true, MaxAttempts: -1, MaxElapsedTime: time.Minute}))
	mustNil(t, err)
	t.Cleanup(func() { _ = sink.Shutdown(bg) })
	for range 5 { // a full batch: written at once
		sink.Audit(bg, privilege.AuditEvent{Subject: "ann", Resource: "r", Action: "a", Source: "computed", Time: time.Now()})
	}
	c := <-sent                 // the whole COPY is on its way to the server
	waitWaiters(t, observer, 1) // and the server holds it at the gate
	partitioned.Store(true)
	_ = c.Conn.Close() // the client loses the connection
	if err := <-attempts; err == nil {
		t.Fatal("the first attempt succeeded on a cut connection")
	}
	<-cancelRefused // pgx's cancel request did not get through
	partitioned.Store(false)
	waitWaiters(t, observer, 2) // the retry waits too (at the gate, or for the first attempt)
	_, err = gate.Exec(bg, `SELECT pg_advisory_unlock($1)`, gateKey)
	mustNil(t, err)
	mustNil(t, sink.Shutdown(bg))
	if rows := auditRows(t, pool); len(rows) != 5 {
		t.Fatalf("%d rows, want 5: a batch was written twice", len(rows))
	}
}

// waitWaiters waits until n backends of conn's database wait on a lock.
func waitWaiters(t *testing.T, conn *pgx.Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		mustNil(t, conn.QueryRow(bg, `SELECT count(*) FROM pg_stat_activity
  WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting))
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 30s waiting for %d backends to wait on a lock", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
