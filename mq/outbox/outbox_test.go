package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/outbox"
)

// TestRolledBackNeverCommittedOnce: a message enqueued in a transaction
// that rolls back is never published; committed ones are published once
// with their IDs, keys and headers.
func TestRolledBackNeverCommittedOnce(t *testing.T) {
	ctx := context.Background()
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lost := &mq.Message{Topic: "orders", Key: "a", Payload: []byte("rolled back")}
	if err := ob.Enqueue(ctx, tx, lost); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	own := &mq.Message{ID: "my-id", Topic: "orders", Key: "a", Payload: []byte("1"), Headers: map[string]string{"h": "v"}}
	gen := &mq.Message{Topic: "orders", Key: "b", Payload: []byte("2")}
	enqueue(t, pool, ob, own, gen)
	if gen.ID == "" || lost.ID == "" {
		t.Fatal("Enqueue gave no ID")
	}
	run(t, ob)
	rec.wait(t, "both", func(log []driver.Message) bool { return len(log) >= 2 })
	// Idle: nothing pending, so nothing more can come.
	waitRows(t, pool, "sent IS NULL", 0)
	log := rec.snapshot()
	if len(log) != 2 {
		t.Fatalf("published %d messages, want 2: %+v", len(log), log)
	}
	byID := map[string]driver.Message{}
	for _, m := range log {
		byID[m.ID] = m
	}
	if m := byID["my-id"]; m.Key != "a" || string(m.Payload) != "1" || m.Headers["h"] != "v" || m.Topic != "orders" {
		t.Errorf("my-id published as %+v", m)
	}
	if m := byID[gen.ID]; m.Key != "b" || string(m.Payload) != "2" {
		t.Errorf("%s published as %+v", gen.ID, m)
	}
	if _, ok := byID[lost.ID]; ok {
		t.Error("the rolled-back message was published")
	}
}

// waitRows waits until count(where) == n.
func waitRows(t *testing.T, pool *pgxpool.Pool, where string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for count(t, pool, where) != n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d rows where %s", n, where)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoRelaysShareTheWork: two Outbox values on two pools relay one
// table; each relay's first round is held until the other has claimed a
// partition too, so both work at once. Every row is published once, each
// key in order.
func TestTwoRelaysShareTheWork(t *testing.T) {
	bus, rec := newBus(t)
	cfg := newDB(t)
	pool1, pool2 := newPool(t, cfg), newPool(t, cfg.Copy())
	ob1 := newOutbox(t, pool1, bus, outbox.WithPartitions(16), outbox.WithBatch(7))
	ob2 := newOutbox(t, pool2, bus, outbox.WithPartitions(16), outbox.WithBatch(7))

	want := map[string][]string{}
	var msgs []*mq.Message
	for i := range 30 {
		for k := range 8 {
			key := fmt.Sprintf("k%d", k)
			m := msg("t", key, i)
			want[key] = append(want[key], string(m.Payload))
			msgs = append(msgs, m)
		}
	}
	enqueue(t, pool1, ob1, msgs...)

	claimed := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var onces [2]sync.Once
	hold := func(me int) func(int, []string) {
		return func(int, []string) {
			onces[me].Do(func() {
				close(claimed[me])
				select {
				case <-claimed[1-me]:
				case <-time.After(30 * time.Second):
					t.Errorf("relay %d: the other relay never claimed a partition", me)
				}
			})
		}
	}
	ob1.SetHooks(hold(0), nil)
	ob2.SetHooks(hold(1), nil)
	run(t, ob1)
	run(t, ob2)
	rec.wait(t, "every row", func(log []driver.Message) bool { return len(log) >= len(msgs) })
	waitRows(t, pool1, "sent IS NULL", 0)
	log := rec.snapshot()
	if len(log) != len(msgs) {
		t.Fatalf("published %d, want %d (a row published twice)", len(log), len(msgs))
	}
	seen := map[string]bool{}
	for _, m := range log {
		if seen[m.ID] {
			t.Fatalf("%s published twice", m.ID)
		}
		seen[m.ID] = true
	}
	if err := perKeyInOrder(log, want); err != nil {
		t.Fatal(err)
	}
}

// TestCommitOrderPerKey: writer A enqueues on key k, then writer B does
// and commits; A commits last. Whatever order the commits take, the relay
// publishes k's messages in commit order. (Without Enqueue's key lock B
// commits first while A's row has the lower sequence number, and the
// relay, seeing both, published A's first.)
func TestCommitOrderPerKey(t *testing.T) {
	ctx := context.Background()
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)

	txA, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(ctx)
	if err := ob.Enqueue(ctx, txA, &mq.Message{Topic: "t", Key: "k", Payload: []byte("A")}); err != nil {
		t.Fatal(err)
	}
	var pidB uint32
	bDone := make(chan error, 1)
	bStarted := make(chan struct{})
	go func() {
		txB, err := pool.Begin(ctx)
		if err != nil {
			bDone <- err
			return
		}
		defer txB.Rollback(ctx)
		pidB = txB.Conn().PgConn().PID()
		close(bStarted)
		if err := ob.Enqueue(ctx, txB, &mq.Message{Topic: "t", Key: "k", Payload: []byte("B")}); err != nil {
			bDone <- err
			return
		}
		bDone <- txB.Commit(ctx)
	}()
	<-bStarted
	// B either commits (no key lock) or waits on A's key lock.
	var order []string
	deadline := time.Now().Add(30 * time.Second)
wait:
	for {
		select {
		case err := <-bDone:
			if err != nil {
				t.Fatal(err)
			}
			order = []string{"B", "A"}
			break wait
		default:
		}
		var waiting bool
		if err := pool.QueryRow(ctx, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pidB).Scan(&waiting); err == nil && waiting {
			order = []string{"A", "B"}
			break wait
		}
		if time.Now().After(deadline) {
			t.Fatal("B neither committed nor waited for a lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if order[0] == "A" {
		if err := <-bDone; err != nil {
			t.Fatal(err)
		}
	}
	run(t, ob)
	log := rec.wait(t, "both", func(log []driver.Message) bool { return len(log) >= 2 })
	got := []string{string(log[0].Payload), string(log[1].Payload)}
	if got[0] != order[0] || got[1] != order[1] {
		t.Fatalf("published %v, committed %v", got, order)
	}
}

// TestBusOutage: while the broker is unreachable the relay retries; after
// it is back every row is published, each key in order, none lost.
func TestBusOutage(t *testing.T) {
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus, outbox.WithBatch(5))
	want := map[string][]string{}
	var msgs []*mq.Message
	for i := range 20 {
		for _, k := range []string{"x", "y"} {
			m := msg("t", k, i)
			want[k] = append(want[k], string(m.Payload))
			msgs = append(msgs, m)
		}
	}
	rec.broker.SetReachable(false)
	enqueue(t, pool, ob, msgs...)
	run(t, ob)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, _, retried, _ := ob.Counts(); retried >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay never retried")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("%d published while unreachable", n)
	}
	if count(t, pool, "attempts > 0 AND last_error IS NOT NULL") == 0 {
		t.Error("no row records the retryable error")
	}
	rec.broker.SetReachable(true)
	rec.wait(t, "every row", func(log []driver.Message) bool { return len(log) >= len(msgs) })
	waitRows(t, pool, "sent IS NULL", 0)
	if err := perKeyInOrder(rec.snapshot(), want); err != nil {
		t.Fatal(err)
	}
}

// TestPermanentFailure: a message the broker refuses for good is marked
// failed with the error, counted, and the rows after it still go.
func TestPermanentFailure(t *testing.T) {
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	rec.broker.SetTopicMaxMessageBytes("small", 10)
	enqueue(t, pool, ob,
		&mq.Message{Topic: "t", Key: "k", Payload: []byte("1")},
		&mq.Message{Topic: "small", Key: "k", Payload: []byte("far too large for it")},
		&mq.Message{Topic: "t", Key: "k", Payload: []byte("3")})
	run(t, ob)
	log := rec.wait(t, "two", func(log []driver.Message) bool { return len(log) >= 2 })
	if string(log[0].Payload) != "1" || string(log[1].Payload) != "3" {
		t.Fatalf("published %s, %s", log[0].Payload, log[1].Payload)
	}
	waitRows(t, pool, "sent IS NULL AND failed IS NULL", 0)
	if n := count(t, pool, "failed IS NOT NULL AND topic = 'small' AND last_error LIKE '%too large%'"); n != 1 {
		t.Fatalf("%d failed rows with the error, want 1", n)
	}
	if _, failed, _, _ := ob.Counts(); failed != 1 {
		t.Fatalf("failed counter %d, want 1", failed)
	}
}

// TestEnqueueValidates: bad input is an error naming the field, and
// nothing is stored.
func TestEnqueueValidates(t *testing.T) {
	ctx := context.Background()
	bus, _ := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	good := func() *mq.Message { return &mq.Message{Topic: "t", Key: "k"} }
	cases := []struct {
		name string
		msgs []*mq.Message
		is   error
		says string
	}{
		{"nil", []*mq.Message{good(), nil}, mq.ErrInvalid, "message 1 is nil"},
		{"topic", []*mq.Message{{Key: "k"}}, mq.ErrInvalid, "empty Topic"},
		{"large", []*mq.Message{good(), {Topic: "t", Payload: make([]byte, 5000)}}, mq.ErrTooLarge, "message 1"},
		{"key", []*mq.Message{{Topic: "t", Key: "\xff"}}, outbox.ErrInvalid, "Key"},
		{"nul", []*mq.Message{{Topic: "t", Headers: map[string]string{"h": "a\x00"}}}, outbox.ErrInvalid, "header h"},
		{"id", []*mq.Message{{ID: "\x00", Topic: "t"}}, outbox.ErrInvalid, "ID"},
	}
	for _, c := range cases {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = ob.Enqueue(ctx, tx, c.msgs...)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want %v saying %q", c.name, err, c.is, c.says)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.Enqueue(ctx, nil, good()); !errors.Is(err, outbox.ErrInvalid) {
		t.Errorf("nil tx: %v", err)
	}
	if n := count(t, pool, "true"); n != 0 {
		t.Fatalf("%d rows stored from bad input", n)
	}
	ob.Close()
	ob.Close()
	tx, _ := pool.Begin(ctx)
	defer tx.Rollback(ctx)
	if err := ob.Enqueue(ctx, tx, good()); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Enqueue after Close: %v", err)
	}
	if err := ob.Run(ctx); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

// TestNewValidates: bad options are errors naming them; New is
// idempotent and refuses another partition count.
func TestNewValidates(t *testing.T) {
	ctx := context.Background()
	bus, _ := newBus(t)
	pool := newPool(t, newDB(t))
	for _, o := range []outbox.Option{outbox.WithTable("Bad-Name"), outbox.WithPartitions(0), outbox.WithBatch(0),
		outbox.WithRetention(-1), outbox.WithPollInterval(0), outbox.WithLogger(nil), outbox.WithMeterProvider(nil), nil} {
		if _, err := outbox.New(ctx, pool, bus, o); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("got %v, want ErrInvalid", err)
		}
	}
	if _, err := outbox.New(ctx, nil, bus); !errors.Is(err, outbox.ErrInvalid) {
		t.Errorf("nil pool: %v", err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ob, err := outbox.New(ctx, pool, bus, outbox.WithPartitions(8))
			if err != nil {
				t.Error(err)
				return
			}
			ob.Close()
		}()
	}
	wg.Wait()
	if _, err := outbox.New(ctx, pool, bus, outbox.WithPartitions(9)); !errors.Is(err, outbox.ErrInvalid) || !strings.Contains(err.Error(), "8 partitions") {
		t.Errorf("another partition count: %v", err)
	}
}

// TestCleanupDeletesSentRows: sent rows past the retention go, failed
// and pending ones stay.
func TestCleanupDeletesSentRows(t *testing.T) {
	ctx := context.Background()
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus, outbox.WithRetention(0))
	enqueue(t, pool, ob, msg("t", "k", 1), msg("t", "k", 2))
	stop := run(t, ob)
	rec.wait(t, "two", func(log []driver.Message) bool { return len(log) >= 2 })
	waitRows(t, pool, "sent IS NULL", 0)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO groundwork_outbox (partition, id, topic, key, payload, time, failed) VALUES (0, 'f', 't', '', '', now(), now())"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "true"); n != 1 {
		t.Fatalf("%d rows left, want the failed one", n)
	}
}

// TestNotifyWakesTheRelay: with polling an hour apart, a commit still
// reaches an idle relay at once, through LISTEN/NOTIFY.
func TestNotifyWakesTheRelay(t *testing.T) {
	bus, rec := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus, outbox.WithPollInterval(time.Hour))
	run(t, ob)
	for i := range 3 {
		enqueue(t, pool, ob, msg("t", "k", i))
		rec.wait(t, "the notified row", func(log []driver.Message) bool { return len(log) > i })
	}
}

// TestIDCountsAgainstTheLimit: the ID Enqueue assigns counts against the
// bus's size limit, as in Publish: a message that fits only without it
// is refused at Enqueue, not failed later by the relay.
func TestIDCountsAgainstTheLimit(t *testing.T) {
	ctx := context.Background()
	bus, _ := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	m := &mq.Message{Topic: "t", Payload: make([]byte, 4096-10)}
	if err := ob.Enqueue(ctx, tx, m); !errors.Is(err, mq.ErrTooLarge) {
		t.Fatalf("Enqueue: %v, want ErrTooLarge", err)
	}
}

// TestRunEndsWhenTheBusCloses: a closed bus ends Run with an error
// wrapping mq.ErrClosed; the row stays to be sent.
func TestRunEndsWhenTheBusCloses(t *testing.T) {
	bus, _ := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	enqueue(t, pool, ob, msg("t", "k", 1))
	bus.Close()
	if err := ob.Run(context.Background()); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("Run: %v", err)
	}
	if n := count(t, pool, "sent IS NULL"); n != 1 {
		t.Fatalf("%d unsent rows, want 1", n)
	}
}

// TestCloseStopsRun: Close ends a running relay with ErrClosed and waits
// for it.
func TestCloseStopsRun(t *testing.T) {
	bus, _ := newBus(t)
	pool := newPool(t, newDB(t))
	ob := newOutbox(t, pool, bus)
	claimed := make(chan struct{})
	var once sync.Once
	ob.SetHooks(func(int, []string) { once.Do(func() { close(claimed) }) }, nil)
	enqueue(t, pool, ob, msg("t", "k", 1))
	done := make(chan error, 1)
	go func() { done <- ob.Run(context.Background()) }()
	<-claimed
	ob.Close()
	// Run's listener returns before Run does, and Run before Close does:
	// none may be left once Close has returned. (Run's own goroutine may
	// not have handed its result over yet: that is the caller's.)
	buf := make([]byte, 1<<20)
	if stacks := buf[:runtime.Stack(buf, true)]; bytes.Contains(stacks, []byte("outbox.(*Outbox).listen")) {
		t.Fatalf("Close returned while Run's listener still ran:\n%s", stacks)
	}
	select {
	case err := <-done:
		if !errors.Is(err, outbox.ErrClosed) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after Close")
	}
}
