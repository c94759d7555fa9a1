package outbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/outbox"
)

// TestCrashBetweenPublishAndMark: a relay that dies after publishing and
// before marking the rows sent (its context cancelled by a hook between
// the two) leaves them to the next relay, which publishes them again with
// the same IDs.
func TestCrashBetweenPublishAndMark(t *testing.T) {
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob1 := newOutbox(t, pool, bus)
	ob2 := newOutbox(t, pool, bus)
	msgs := []*mq.Message{msg("t", "k", 1), msg("t", "k", 2)}
	enqueue(t, pool, ob1, msgs...)

	ctx, crash := context.WithCancel(context.Background())
	var once sync.Once
	ob1.SetHooks(nil, func(int, []string) { once.Do(crash) })
	if err := ob1.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed Run: %v", err)
	}
	if n := count(t, pool, "sent IS NULL"); n != 2 {
		t.Fatalf("%d rows left unsent after the crash, want 2", n)
	}
	run(t, ob2)
	log := rec.wait(t, "the republish", func(log []driver.Message) bool { return len(log) >= 4 })
	waitRows(t, pool, "sent IS NULL", 0)
	for i, m := range rec.snapshot() {
		if want := msgs[i%2].ID; m.ID != want {
			t.Fatalf("publish %d has ID %s, want %s (log %v)", i, m.ID, want, log)
		}
	}
}

// TestPostgresOutage: PostgreSQL killed while the relay runs: Run keeps
// retrying (counting the failures) rather than returning, and once the
// server is back every committed row is published, in order, none lost.
func TestPostgresOutage(t *testing.T) {
	ctx := context.Background()
	srv := testserver.StartPostgres(t)
	cfg := testserver.PostgresDatabase(t, srv.URL, "outbox_outage")
	bus, rec := newBus(t)
	pool := newPool(t, cfg)
	ob := newOutbox(t, pool, bus, outbox.WithBatch(3))
	want := map[string][]string{}
	var first, second []*mq.Message
	for i := range 10 {
		m := msg("t", "k", i)
		want["k"] = append(want["k"], string(m.Payload))
		if i < 5 {
			first = append(first, m)
		} else {
			second = append(second, m)
		}
	}
	enqueue(t, pool, ob, first...)
	srv.Kill()
	stop := run(t, ob)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, _, _, bad := ob.Counts(); bad >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay never met the outage")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Restart(t)
	// The pool's broken connections are dropped on use; try until one works.
	for {
		tx, err := pool.Begin(ctx)
		if err == nil {
			err = ob.Enqueue(ctx, tx, second...)
			if err == nil {
				err = tx.Commit(ctx)
			} else {
				_ = tx.Rollback(ctx)
			}
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enqueue after restart: %v", err)
		}
		for _, m := range second {
			m.ID = "" // a fresh try, fresh IDs
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec.wait(t, "every row", func(log []driver.Message) bool { return len(log) >= 10 })
	if err := perKeyInOrder(rec.snapshot(), want); err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

// TestMetrics: the counters reach a real OpenTelemetry SDK.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus, outbox.WithMeterProvider(mp))
	rec.broker.SetTopicMaxMessageBytes("small", 5)
	enqueue(t, pool, ob, msg("t", "k", 1), msg("small", "k", 2), msg("t", "k", 3))
	run(t, ob)
	rec.wait(t, "two", func(log []driver.Message) bool { return len(log) >= 2 })
	waitRows(t, pool, "sent IS NULL AND failed IS NULL", 0)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					o, _ := dp.Attributes.Value(attribute.Key("outcome"))
					got[m.Name+"/"+o.AsString()] = dp.Value
				}
			}
		}
	}
	if got["outbox.enqueued/ok"] != 3 || got["outbox.relayed/sent"] != 2 || got["outbox.relayed/failed"] != 1 {
		t.Fatalf("metrics %v", got)
	}
}
