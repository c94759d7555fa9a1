package privilege_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/resilience"
)

func TestPostgresAudit(t *testing.T) {
	url := pgCluster(t)
	for name, test := range map[string]func(*testing.T, string){
		"Rows":             testPGAuditRows,
		"DeniesAtSample0":  testPGAuditDenies,
		"FullQueueDrops":   testPGAuditDrops,
		"Outage":           testPGAuditOutage,
		"LostAck":          testPGAuditLostAck,
		"BadRowSplit":      testPGAuditBadRow,
		"MigrateAndOption": testPGAuditMigrate,
	} {
		t.Run(name, func(t *testing.T) { test(t, url) })
	}
}

// pgAuditHarness is a PostgresAudit on a fresh, migrated database whose
// timed flushes are the test's (tick) and whose attempts it sees.
type pgAuditHarness struct {
	pool     *pgxpool.Pool
	sink     *privilege.PostgresAudit
	tick     chan time.Time
	attempts chan error
	reader   *sdkmetric.ManualReader
}

func newPGAudit(t *testing.T, url string, opts ...privilege.AuditOption) *pgAuditHarness {
	t.Helper()
	h := &pgAuditHarness{pool: newPGPool(t, url), tick: make(chan time.Time), attempts: make(chan error, 1000), reader: sdkmetric.NewManualReader()}
	mustNil(t, privilege.MigratePostgres(bg, h.pool))
	hooks := privilege.AuditOption(func(o *batcher.Options) error {
		o.Tick = h.tick
		o.OnAttempt = func(_ int, err error) {
			select {
			case h.attempts <- err:
			default: // only the first ones are waited for
			}
		}
		return nil
	})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() { _ = mp.Shutdown(bg) })
	all := append([]privilege.AuditOption{hooks, privilege.WithAuditMeterProvider(mp)}, opts...)
	sink, err := privilege.NewPostgresAudit(h.pool, all...)
	mustNil(t, err)
	t.Cleanup(func() { _ = sink.Shutdown(bg) })
	h.sink = sink
	return h
}

// counts returns the sink's counters by name (dropped, failed, written).
func (h *pgAuditHarness) counts(t *testing.T) map[string]int64 {
	return otelcheck.Totals(t, h.reader, func(p otelcheck.Point) string {
		if p.Attr("sink") != "postgres" {
			return ""
		}
		return p.Metric
	})
}

// waitCounts waits until the sink's counters are want (the writer runs
// on its own), failing after a generous deadline. Read them before
// Shutdown, which unregisters them.
func (h *pgAuditHarness) waitCounts(t *testing.T, dropped, failed, written int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := h.counts(t)
		if c["privilege.audit.dropped"] == dropped && c["privilege.audit.failed"] == failed && c["privilege.audit.written"] == written {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters %v, want dropped %d, failed %d, written %d", c, dropped, failed, written)
		}
		select {
		case h.tick <- time.Now(): // flush what is queued
		case <-time.After(5 * time.Millisecond):
		}
	}
}

type auditRow struct {
	privilege.AuditEvent
	batch *int64
}

func auditRows(t *testing.T, pool *pgxpool.Pool) []auditRow {
	t.Helper()
	rows, err := pool.Query(bg, `SELECT decided_at, subject, resource, action, allowed, reason, policy_id, role, version, source, batch_id
  FROM privilege_audit ORDER BY id`)
	mustNil(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		var v int64
		err := r.Scan(&a.Time, &a.Subject, &a.Resource, &a.Action, &a.Allowed, &a.Reason, &a.PolicyID, &a.Role, &v, &a.Source, &a.batch)
		a.Version = uint64(v)
		return a, err
	})
	mustNil(t, err)
	return out
}

// tee sends events to a recorder and on to a sink.
type tee struct {
	rec  *recorder
	sink privilege.AuditSink
}

func (x tee) Audit(ctx context.Context, e privilege.AuditEvent) {
	x.rec.Audit(ctx, e)
	x.sink.Audit(ctx, e)
}

// sameEvent compares an event with its row: the time at PostgreSQL's
// microsecond precision.
func sameEvent(e, r privilege.AuditEvent) bool {
	e.Time, r.Time = e.Time.Truncate(time.Microsecond).UTC(), r.Time.UTC()
	return e == r
}

// auditChecks makes n checks, allows and denies, some from L1.
func auditChecks(t *testing.T, e *privilege.Engine, n int) {
	t.Helper()
	for i := range n {
		req := privilege.Request{Subject: "ann", Resource: fmt.Sprintf("wiki/%d", i%7), Action: "read"}
		if i%3 == 0 {
			req.Action = "delete" // a deny
		}
		_, err := e.Check(bg, req)
		mustNil(t, err)
	}
}

// testPGAuditRows: N decisions land as N rows, in order, with every field.
func testPGAuditRows(t *testing.T, url string) {
	h := newPGAudit(t, url, privilege.WithAuditBatch(16, time.Hour))
	rec := &recorder{}
	e := newEngine(t, auditStore(t), privilege.WithAudit(tee{rec, h.sink}, 1))
	const n = 100
	auditChecks(t, e, n)
	h.waitCounts(t, 0, 0, n)
	mustNil(t, h.sink.Shutdown(bg))
	rows, events := auditRows(t, h.pool), rec.got()
	if len(rows) != n || len(events) != n {
		t.Fatalf("%d rows, %d events, want %d", len(rows), len(events), n)
	}
	sources := map[string]int{}
	for i := range rows {
		if !sameEvent(events[i], rows[i].AuditEvent) {
			t.Fatalf("row %d\n%+v\nwant\n%+v", i, rows[i].AuditEvent, events[i])
		}
		if rows[i].batch == nil {
			t.Fatalf("row %d has no batch id", i)
		}
		sources[rows[i].Source]++
	}
	if sources["l1"] == 0 || sources["computed"] == 0 {
		t.Fatalf("sources %v: want both l1 and computed", sources)
	}
}

// testPGAuditDenies: at sample 0 every deny lands and no allow.
func testPGAuditDenies(t *testing.T, url string) {
	h := newPGAudit(t, url)
	rec := &recorder{}
	e := newEngine(t, auditStore(t), privilege.WithAudit(tee{rec, h.sink}, 0), privilege.WithAuditRand(func() float64 { return 0 }))
	auditChecks(t, e, 60)
	mustNil(t, h.sink.Shutdown(bg))
	rows := auditRows(t, h.pool)
	if len(rows) != 20 {
		t.Fatalf("%d rows, want the 20 denies", len(rows))
	}
	for _, r := range rows {
		if r.Allowed {
			t.Fatalf("an allow at sample 0: %+v", r)
		}
	}
}

// testPGAuditDrops: with the writer held in a write, events past the
// queue's bound are dropped and counted, and Audit returns at once.
func testPGAuditDrops(t *testing.T, url string) {
	h := newPGAudit(t, url, privilege.WithAuditBatch(2, time.Hour), privilege.WithAuditQueue(4))
	hold, holding := make(chan struct{}), make(chan struct{})
	var once sync.Once
	privilege.SetPGAuditAfterCopy(h.sink, func() error {
		once.Do(func() { close(holding); <-hold })
		return nil
	})
	ev := privilege.AuditEvent{Subject: "ann", Resource: "r", Action: "a", Reason: "x", Source: "computed", Time: time.Now()}
	h.sink.Audit(bg, ev)
	h.sink.Audit(bg, ev) // a full batch: the writer takes it, and holds
	<-holding
	for range 10 {
		h.sink.Audit(bg, ev) // 4 queue, 6 drop
	}
	if c := h.counts(t); c["privilege.audit.dropped"] != 6 {
		t.Fatalf("counters %v, want 6 dropped", c)
	}
	close(hold)
	h.waitCounts(t, 6, 0, 6)
	mustNil(t, h.sink.Shutdown(bg))
	h.sink.Audit(bg, ev) // after Shutdown: dropped, no panic
	mustNil(t, h.sink.Shutdown(bg))
	if rows := auditRows(t, h.pool); len(rows) != 6 {
		t.Fatalf("%d rows, want 6", len(rows))
	}
}

// testPGAuditOutage: the database refuses connections and every open one
// is cut while events are queued; the batch is retried, lands once the
// database is back, and nothing is written twice.
func testPGAuditOutage(t *testing.T, url string) {
	h := newPGAudit(t, url,
		privilege.WithAuditBatch(1000, time.Hour),
		privilege.WithAuditRetry(resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxAttempts: -1, MaxElapsedTime: time.Minute}))
	e := newEngine(t, auditStore(t), privilege.WithAudit(h.sink, 1))
	auditChecks(t, e, 30)
	db := h.pool.Config().ConnConfig.Database
	admin, err := pgx.Connect(bg, url)
	mustNil(t, err)
	defer admin.Close(bg)
	_, err = admin.Exec(bg, "ALTER DATABASE "+db+" ALLOW_CONNECTIONS false")
	mustNil(t, err)
	_, err = admin.Exec(bg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", db)
	mustNil(t, err)

	h.tick <- time.Now() // flush now, into the outage
	if err := <-h.attempts; err == nil {
		t.Fatal("a write succeeded while the database refused connections")
	}
	auditChecks(t, e, 30) // more while it is down: queued behind
	_, err = admin.Exec(bg, "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true")
	mustNil(t, err)
	h.waitCounts(t, 0, 0, 60)
	mustNil(t, h.sink.Shutdown(bg))
	if rows := auditRows(t, h.pool); len(rows) != 60 {
		t.Fatalf("%d rows after the outage, want 60", len(rows))
	}
}

// testPGAuditLostAck: a COPY that committed but whose answer was lost is
// found by the retry, not written again.
func testPGAuditLostAck(t *testing.T, url string) {
	h := newPGAudit(t, url, privilege.WithAuditBatch(10, time.Hour),
		privilege.WithAuditRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, NoJitter: true}))
	var once sync.Once
	privilege.SetPGAuditAfterCopy(h.sink, func() (err error) {
		once.Do(func() { err = errors.New("connection reset (stand-in for a lost acknowledgement)") })
		return err
	})
	e := newEngine(t, auditStore(t), privilege.WithAudit(h.sink, 1))
	auditChecks(t, e, 25)
	mustNil(t, h.sink.Shutdown(bg))
	if rows := auditRows(t, h.pool); len(rows) != 25 {
		t.Fatalf("%d rows, want 25: a retried batch was written twice", len(rows))
	}
}

// testPGAuditBadRow: a row the database refuses is given up alone; the
// rest of its batch and the batches after it land.
func testPGAuditBadRow(t *testing.T, url string) {
	h := newPGAudit(t, url, privilege.WithAuditBatch(8, time.Hour))
	_, err := h.pool.Exec(bg, `ALTER TABLE privilege_audit ADD CONSTRAINT no_mallory CHECK (subject <> 'mallory')`)
	mustNil(t, err)
	for i := range 20 {
		sub := fmt.Sprintf("u%d", i)
		if i == 3 {
			sub = "mallory"
		}
		h.sink.Audit(bg, privilege.AuditEvent{Subject: sub, Resource: "r", Action: "a", Reason: "x\x00y", Source: "computed", Time: time.Now()})
	}
	h.waitCounts(t, 0, 1, 19)
	mustNil(t, h.sink.Shutdown(bg))
	rows := auditRows(t, h.pool)
	if len(rows) != 19 {
		t.Fatalf("%d rows, want 19", len(rows))
	}
	for i, r := range rows {
		want := i
		if i >= 3 {
			want = i + 1
		}
		if r.Subject != fmt.Sprintf("u%d", want) || r.Reason != "x\uFFFDy" {
			t.Fatalf("row %d: %q %q", i, r.Subject, r.Reason)
		}
	}
}

// testPGAuditMigrate: 0002's columns are there; bad arguments are errors.
func testPGAuditMigrate(t *testing.T, url string) {
	pool := newPGPool(t, url)
	mustNil(t, privilege.MigratePostgres(bg, pool))
	mustNil(t, privilege.MigratePostgres(bg, pool)) // idempotent
	var cols int
	mustNil(t, pool.QueryRow(bg, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'privilege_audit'
  AND column_name IN ('decided_at', 'source', 'batch_id')`).Scan(&cols))
	if cols != 3 {
		t.Fatalf("%d of the columns decided_at, source, batch_id", cols)
	}
	if err := privilege.MigratePostgres(bg, nil); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("nil pool: %v", err)
	}
	if _, err := privilege.NewPostgresAudit(nil); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("nil pool: %v", err)
	}
	for _, o := range []privilege.AuditOption{privilege.WithAuditBatch(0, time.Second), privilege.WithAuditQueue(-1), nil,
		privilege.WithAuditLogger(nil), privilege.WithAuditMeterProvider(nil)} {
		if _, err := privilege.NewPostgresAudit(pool, o); !errors.Is(err, privilege.ErrInvalid) {
			t.Fatalf("bad option: %v", err)
		}
	}
	if _, err := privilege.NewPostgresAudit(pool, privilege.WithAuditBatch(10, time.Second), privilege.WithAuditQueue(5)); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("queue below a batch: %v", err)
	}
}
