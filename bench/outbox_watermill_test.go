package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/mq/outbox"
)

// Shape of the outbox benchmark: rows of outboxPayload bytes on
// outboxKeys keys, written outboxPerTx to a transaction.
const (
	outboxKeys    = 64
	outboxPerTx   = 100
	outboxPayload = 100
)

// BenchmarkOutboxRelay: rows per second relayed from a transactional
// outbox in PostgreSQL to an in-process sink, groundwork's mq/outbox
// against watermill's forwarder (components/forwarder over watermill-sql's
// PostgreSQL publisher and subscriber), same PostgreSQL, same run. One op
// is one row. The b.N rows are committed first, outboxPerTx a
// transaction (not timed); then the relays start and the sink counts
// deliveries.
//
// groundwork: outbox.Enqueue in the transaction; Run → an mq.Client on
// mem:// → a subscription (concurrency 8, per-key order) counting.
// watermill: forwarder.Publisher over sql.Publisher on the transaction
// (the forwarder's topic; DefaultPostgreSQLSchema, DefaultPostgreSQL-
// OffsetsAdapter) → Forwarder (its sql.Subscriber, one consumer group)
// → a gochannel publisher → a gochannel subscriber counting. All other
// settings are the libraries' defaults.
//
// msgs/s is from the first delivery to the last (start-up excluded);
// run-msgs/s from the relays' start to the last delivery; cpu-ns/msg is
// this process's CPU (PostgreSQL's is not in it). reordered counts
// messages older than one already seen for their key — at the counting
// subscription for groundwork, at the forwarder's publish for watermill
// (gochannel hands each message to its subscriber on a goroutine of its
// own, so order at its subscriber is gochannel's); dups counts IDs
// delivered twice. A missing row fails the run.
//
//	cd bench && for i in 1 2 3; do go test -run '^$' -bench OutboxRelay -benchtime 20000x -count 1 ./; done
//
// (a loop rather than -count 3, so that the rounds of the two alternate
// on a shared machine; each round starts a PostgreSQL of its own.)
func BenchmarkOutboxRelay(b *testing.B) {
	url := testserver.PostgresURL(b)
	for _, relays := range []int{1, 2} {
		b.Run(fmt.Sprintf("groundwork/relays=%d", relays), func(b *testing.B) {
			benchGroundworkOutbox(b, url, relays)
		})
		b.Run(fmt.Sprintf("watermill/forwarders=%d", relays), func(b *testing.B) {
			benchWatermillForwarder(b, url, relays)
		})
	}
}

// outboxRow returns row i's key index and payload: the key index and the
// row's number within its key, so that the sink can check order.
func outboxRow(i int) (key int, payload []byte) {
	p := make([]byte, outboxPayload)
	key = i % outboxKeys
	binary.BigEndian.PutUint32(p, uint32(key))
	binary.BigEndian.PutUint64(p[4:], uint64(i/outboxKeys))
	return key, p
}

// outboxSink counts deliveries, their per-key order, duplicates, and the
// times of the first and the last.
type outboxSink struct {
	n           int
	mu          sync.Mutex
	got         int
	seen        map[string]struct{}
	last        [outboxKeys]int64
	reordered   int
	dups        int
	first, done time.Time
	all         chan struct{}
}

func newOutboxSink(n int) *outboxSink {
	s := &outboxSink{n: n, seen: make(map[string]struct{}, n), all: make(chan struct{})}
	for i := range s.last {
		s.last[i] = -1
	}
	return s
}

// ordered checks payload's place in its key's order.
func (s *outboxSink) ordered(payload []byte) {
	key := binary.BigEndian.Uint32(payload)
	seq := int64(binary.BigEndian.Uint64(payload[4:]))
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.last[key] {
		s.reordered++
	} else {
		s.last[key] = seq
	}
}

// count counts the delivery of message id, once.
func (s *outboxSink) count(id string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.seen[id]; dup {
		s.dups++
		return
	}
	s.seen[id] = struct{}{}
	if s.got == 0 {
		s.first = now
	}
	s.got++
	if s.got == s.n {
		s.done = now
		close(s.all)
	}
}

// wait waits for all n deliveries (failing b after a generous deadline),
// stops the timer and reports the rates.
func (s *outboxSink) wait(b *testing.B, start time.Time, cpu cpuMeter) {
	select {
	case <-s.all:
	case <-time.After(5 * time.Minute):
		s.mu.Lock()
		defer s.mu.Unlock()
		b.Fatalf("%d of %d rows delivered", s.got, s.n)
	}
	b.StopTimer()
	cpu.report(b, s.n)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.done.Sub(s.first); d > 0 && s.n > 1 {
		b.ReportMetric(float64(s.n-1)/d.Seconds(), "msgs/s")
	}
	b.ReportMetric(float64(s.n)/s.done.Sub(start).Seconds(), "run-msgs/s")
	b.ReportMetric(float64(s.reordered), "reordered")
	b.ReportMetric(float64(s.dups), "dups")
}

// outboxPool opens a pool on cfg, closed when b ends.
func outboxPool(b *testing.B, cfg *pgxpool.Config) *pgxpool.Pool {
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// writeOutbox commits b.N rows, outboxPerTx a transaction, each written
// by enqueue.
func writeOutbox(b *testing.B, pool *pgxpool.Pool, enqueue func(ctx context.Context, tx pgx.Tx, from, to int) error) {
	ctx := context.Background()
	for i := 0; i < b.N; i += outboxPerTx {
		tx, err := pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := enqueue(ctx, tx, i, min(i+outboxPerTx, b.N)); err != nil {
			_ = tx.Rollback(ctx)
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGroundworkOutbox(b *testing.B, url string, relays int) {
	ctx := context.Background()
	cfg := testserver.PostgresDatabase(b, url, "bench_outbox")
	bus := openMQ(b, "mem://"+topic("outbox"))
	sink := newOutboxSink(b.N)
	sub, err := bus.Subscribe(ctx, "t", "count", func(_ context.Context, m *mq.Message) error {
		sink.ordered(m.Payload)
		sink.count(m.ID)
		return nil
	}, mq.WithConcurrency(8), mq.WithPrefetch(2000))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sub.Close() })
	var obs []*outbox.Outbox
	for range relays {
		ob, err := outbox.New(ctx, outboxPool(b, cfg.Copy()), bus)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ob.Close() })
		obs = append(obs, ob)
	}
	keys := make([]string, outboxKeys)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	writeOutbox(b, outboxPool(b, cfg.Copy()), func(ctx context.Context, tx pgx.Tx, from, to int) error {
		msgs := make([]*mq.Message, 0, to-from)
		for i := from; i < to; i++ {
			key, p := outboxRow(i)
			msgs = append(msgs, &mq.Message{Topic: "t", Key: keys[key], Payload: p})
		}
		return obs[0].Enqueue(ctx, tx, msgs...)
	})

	b.ResetTimer()
	start, cpu := time.Now(), startCPU()
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, ob := range obs {
		wg.Go(func() { _ = ob.Run(rctx) })
	}
	sink.wait(b, start, cpu)
	cancel()
	wg.Wait()
}

func benchWatermillForwarder(b *testing.B, url string, forwarders int) {
	ctx := context.Background()
	cfg := testserver.PostgresDatabase(b, url, "bench_wmsql")
	logger := watermill.NopLogger{}
	const fwdTopic = "outbox"
	schema := wsql.DefaultPostgreSQLSchema{}
	offsets := wsql.DefaultPostgreSQLOffsetsAdapter{}

	// The destination and the counting subscriber on it.
	dest := gochannel.NewGoChannel(gochannel.Config{}, logger)
	b.Cleanup(func() { dest.Close() })
	msgs, err := dest.Subscribe(ctx, "t")
	if err != nil {
		b.Fatal(err)
	}
	sink := newOutboxSink(b.N)
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		for m := range msgs {
			sink.count(m.UUID)
			m.Ack()
		}
	}()
	b.Cleanup(func() { dest.Close(); <-counted })

	var fwds []*forwarder.Forwarder
	for i := range forwarders {
		sub, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(outboxPool(b, cfg.Copy())),
			wsql.SubscriberConfig{SchemaAdapter: schema, OffsetsAdapter: offsets, InitializeSchema: true}, logger)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sub.Close() })
		if i == 0 { // the tables, before the first transaction writes to them
			if err := sub.SubscribeInitialize(fwdTopic); err != nil {
				b.Fatal(err)
			}
		}
		f, err := forwarder.NewForwarder(sub, orderedPublisher{dest, sink}, logger, forwarder.Config{ForwarderTopic: fwdTopic})
		if err != nil {
			b.Fatal(err)
		}
		fwds = append(fwds, f)
	}

	writeOutbox(b, outboxPool(b, cfg.Copy()), func(ctx context.Context, tx pgx.Tx, from, to int) error {
		pub, err := wsql.NewPublisher(wsql.TxFromPgx(tx), wsql.PublisherConfig{SchemaAdapter: schema}, logger)
		if err != nil {
			return err
		}
		out := make([]*message.Message, 0, to-from)
		for i := from; i < to; i++ {
			key, p := outboxRow(i)
			m := message.NewMessage(watermill.NewUUID(), p)
			m.Metadata.Set("key", fmt.Sprint("k", key))
			m.SetContext(ctx)
			out = append(out, m)
		}
		return forwarder.NewPublisher(pub, forwarder.PublisherConfig{ForwarderTopic: fwdTopic}).Publish("t", out...)
	})

	b.ResetTimer()
	start, cpu := time.Now(), startCPU()
	var wg sync.WaitGroup
	for _, f := range fwds {
		wg.Go(func() { _ = f.Run(ctx) })
	}
	sink.wait(b, start, cpu)
	for _, f := range fwds {
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
	wg.Wait()
}

// orderedPublisher checks the order in which the forwarder publishes:
// gochannel hands each message to its subscribers on a goroutine of its
// own, so the order the subscriber sees is gochannel's, not the
// forwarder's.
type orderedPublisher struct {
	message.Publisher
	sink *outboxSink
}

func (p orderedPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		p.sink.ordered(m.Payload)
	}
	return p.Publisher.Publish(topic, msgs...)
}
