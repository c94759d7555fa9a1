package bench

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/logship"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
)

// BenchmarkLogShipMQ: records per second from slog to a consumer,
// through the whole pipeline — a slog.Logger over the Shipper's Handler
// (DefaultRules redaction), the Shipper's queue and batches of 1,000,
// MQSink publishing each batch in one mq Publish — and a consumer,
// subscribed before the first record, counting what arrived
// concurrently (mq Subscribe on mem:// and redis://, a bare kgo consumer
// on Kafka). One op is one record; the timer runs from the
// first logging call until the consumer has counted b.N records (after
// Shutdown has flushed the last batch), so records/s is the end-to-end
// rate, not the logging calls'. The queue blocks rather than drops; a
// dropped record fails the run.
//
// Brokers: mem:// (in-process, the embedded default), kafka:// on a
// 3-broker kfake cluster (in-process too: its CPU is the benchmark's) and
// redis:// on a real redis-server, all from internal/testserver.
// "franz-go-bare" is the transport alone for comparison: the same kfake
// cluster, one already-encoded document of the same size and headers
// produced b.N times with kgo's asynchronous Produce, counted by the same
// bare consumer as groundwork's Kafka row — no slog, no encoding, no
// redaction, no queue: an upper bound, not a peer logger.
//
//	cd bench && go test -run '^$' -bench LogShipMQ -benchtime 100000x -count 3
func BenchmarkLogShipMQ(b *testing.B) {
	ctx := context.Background()
	b.Run("mem", func(b *testing.B) {
		c := openMQ(b, "mem://logship-bench")
		t := topic("logship-mem")
		logShipThrough(b, c, t, countMQ(b, c, t, b.N))
	})
	k := testserver.StartKafka(b)
	b.Run("kafka", func(b *testing.B) {
		c, t := mqClient(b, k), kafkaTopic(b, k, "logship-kafka")
		logShipThrough(b, c, t, countKafka(b, k, t, b.N))
	})
	b.Run("franz-go-bare", func(b *testing.B) {
		cl, t := rawClient(b, k), kafkaTopic(b, k, "logship-bare")
		doc := []byte(sampleECS)
		headers := []kgo.RecordHeader{{Key: "mq-id", Value: []byte(uuidLike(0))},
			{Key: logship.HeaderService, Value: []byte("bench")}, {Key: logship.HeaderLevel, Value: []byte("INFO")},
			{Key: logship.HeaderTime, Value: []byte("2026-11-30T12:00:00.123456789Z")}}
		var failed atomic.Int64
		wait := countKafka(b, k, t, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		cpu := startCPU()
		for range b.N {
			cl.Produce(ctx, &kgo.Record{Topic: t, Value: doc, Headers: headers}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d records not produced", n)
		}
		wait()
		b.StopTimer()
		cpu.report(b, b.N)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	r := testserver.StartRedis(b, nil)
	b.Run("redis", func(b *testing.B) {
		c, t := redisMQ(b, r), redisTopic(b, r, "logship-redis")
		logShipThrough(b, c, t, countMQ(b, c, t, b.N))
	})
}

// sampleECS is one of the Handler's documents for the benchmark's record,
// as the bare producer sends it.
const sampleECS = `{"@timestamp":"2026-11-30T12:00:00.123456789Z","log.level":"info","message":"request served",` +
	`"ecs.version":"8.11.0","service.name":"bench","event.dataset":"bench.log","event.id":"019ad4a2-1c3b-7e5f-8a9b-0c1d2e3f4a5b",` +
	`"path":"/v1/orders/42","status":200,"took":1500000,"cached":true}`

func openMQ(b *testing.B, url string) *mq.Client {
	c, err := mq.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// logShipThrough logs b.N records through a Shipper with an MQSink on c's
// topic t, flushes them, and waits (wait) for the consumer to count them.
func logShipThrough(b *testing.B, c *mq.Client, t string, wait func()) {
	ctx := context.Background()
	var dropped atomic.Int64
	s, err := logship.NewShipper(logship.MQSink(c, t),
		logship.WithQueue(1<<17, logship.Block(time.Minute)),
		logship.WithQueueBytes(64<<20),
		logship.WithBatch(1000, 4<<20, 100*time.Millisecond),
		logship.WithErrorHandler(func(error) { dropped.Add(1) }))
	if err != nil {
		b.Fatal(err)
	}
	l := slog.New(s.Handler(&logship.HandlerOptions{Service: "bench", Redact: logship.DefaultRules()}))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
	}
	if err := s.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	if n := dropped.Load(); n > 0 {
		b.Fatalf("%d of %d records dropped", n, b.N)
	}
	wait()
	b.StopTimer()
	cpu.report(b, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// countMQ subscribes to c's topic t now (a group gets what is published
// after it joined) and returns a function waiting until the
// subscription has counted n messages.
func countMQ(b *testing.B, c *mq.Client, t string, n int) (wait func()) {
	var got atomic.Int64
	done := make(chan struct{})
	sub, err := c.Subscribe(context.Background(), t, "count", func(context.Context, *mq.Message) error {
		if got.Add(1) == int64(n) {
			close(done)
		}
		return nil
	}, mq.WithConcurrency(8), mq.WithPrefetch(2000))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sub.Close() })
	return func() { waitCount(b, done, &got, n) }
}

// countKafka creates topic t (8 partitions) and starts a bare kgo
// consumer on it; the function returned waits until it has read n
// records.
func countKafka(b *testing.B, k *testserver.Kafka, t string, n int) (wait func()) {
	ctx, cancel := context.WithCancel(context.Background())
	// The topic first, then the consumer: one that found no topic would
	// wait for a metadata refresh, timed.
	if _, err := kadm.NewClient(rawClient(b, k)).CreateTopic(ctx, 8, -1, nil, t); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.ConsumeTopics(t),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			if got.Add(int64(fs.NumRecords())) >= int64(n) && n > 0 {
				close(done)
				return
			}
		}
	}()
	b.Cleanup(func() { cancel(); <-stopped; cl.Close() })
	return func() { waitCount(b, done, &got, n) }
}

// waitCount waits for done, failing the run after a generous deadline
// with how many of n arrived.
func waitCount(b *testing.B, done <-chan struct{}, got *atomic.Int64, n int) {
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d records arrived", got.Load(), n)
	}
	if g := got.Load(); g != int64(n) {
		b.Fatalf("%d records arrived, %d were sent", g, n)
	}
}
