package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/mq/outbox"
	"github.com/groundwork-go/groundwork/resilience"
)

var pg = testserver.NewShared(func(t testing.TB) string { return testserver.PostgresURL(t) })

func TestMain(m *testing.M) { goleak.VerifyTestMain(pg.StopAfter(m)) }

// recorder is a memmq connection that records what the broker accepted,
// in order, and tells waiters.
type recorder struct {
	driver.Conn
	broker *memmq.Broker
	mu     sync.Mutex
	log    []driver.Message
	change chan struct{}
}

func (r *recorder) Publish(ctx context.Context, msgs []driver.Message) error {
	if err := r.Conn.Publish(ctx, msgs); err != nil {
		return err
	}
	r.mu.Lock()
	r.log = append(r.log, msgs...)
	close(r.change)
	r.change = make(chan struct{})
	r.mu.Unlock()
	return nil
}

func (r *recorder) MaxMessageBytes() int { return 4096 }

// wait waits until cond holds over the log, failing t after a generous
// deadline.
func (r *recorder) wait(t testing.TB, what string, cond func(log []driver.Message) bool) []driver.Message {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		log, ch := append([]driver.Message(nil), r.log...), r.change
		r.mu.Unlock()
		if cond(log) {
			return log
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; published %d", what, len(log))
		}
	}
}

func (r *recorder) snapshot() []driver.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]driver.Message(nil), r.log...)
}

// fastRetry keeps retries short in tests.
var fastRetry = resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxAttempts: 2}

// newBus returns a client on a recording broker of its own.
func newBus(t testing.TB) (*mq.Client, *recorder) {
	t.Helper()
	b := memmq.NewBroker(&memmq.Options{Partitions: 4, MaxMessageBytes: 4096})
	rec := &recorder{Conn: memmq.New(b), broker: b, change: make(chan struct{})}
	bus, err := mq.NewClient(rec, mq.WithRetry(fastRetry), mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return bus, rec
}

// newPool returns a pool on a fresh database of the shared cluster (or
// on db when given).
func newPool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newDB(t testing.TB) *pgxpool.Config {
	return testserver.PostgresDatabase(t, pg.Get(t), "outbox")
}

func newOutbox(t testing.TB, pool *pgxpool.Pool, bus *mq.Client, opts ...outbox.Option) *outbox.Outbox {
	t.Helper()
	opts = append([]outbox.Option{outbox.WithRetry(fastRetry), outbox.WithPollInterval(50 * time.Millisecond), outbox.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	ob, err := outbox.New(context.Background(), pool, bus, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

// run starts a relay and returns its stop, which waits for Run and
// returns its error.
func run(t testing.TB, ob *outbox.Outbox) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// enqueue commits msgs in one transaction.
func enqueue(t testing.TB, pool *pgxpool.Pool, ob *outbox.Outbox, msgs ...*mq.Message) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Enqueue(ctx, tx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func msg(topic, key string, i int) *mq.Message {
	return &mq.Message{Topic: topic, Key: key, Payload: fmt.Appendf(nil, "%s-%d", key, i)}
}

// count returns how many rows of the table match where.
func count(t testing.TB, pool *pgxpool.Pool, where string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM groundwork_outbox WHERE "+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// perKeyInOrder reports whether, per key, payloads appear in index order
// (duplicates of an earlier one allowed), and returns the first problem.
func perKeyInOrder(log []driver.Message, want map[string][]string) error {
	pos := map[string]int{}
	for _, m := range log {
		seq := want[m.Key]
		p := pos[m.Key]
		switch {
		case p < len(seq) && string(m.Payload) == seq[p]:
			pos[m.Key] = p + 1
		case p > 0 && string(m.Payload) == seq[p-1]:
			// a republish of the last one: at least once
		default:
			return fmt.Errorf("key %s: got %s at position %d", m.Key, m.Payload, p)
		}
	}
	return nil
}
