// Package bench compares Groundwork with the clients and libraries it is
// measured against, on the same broker in the same run. It has its own
// go.mod so that peers never enter the main module.
//
//	cd bench && go test -run XXX -bench . -benchmem
package bench

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
)

const batch = 100

var payload = make([]byte, 1024)

var topicSeq atomic.Int64

func topic(prefix string) string { return fmt.Sprintf("%s-%d", prefix, topicSeq.Add(1)) }

// kafkaTopic returns a new topic name and deletes the topic when the
// benchmark run ends, so that no run pays for the memory of the ones
// before it (kfake keeps everything in the benchmark's own heap).
func kafkaTopic(b *testing.B, k *testserver.Kafka, prefix string) string {
	t := topic(prefix)
	b.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
		if err != nil {
			b.Error(err)
			return
		}
		defer cl.Close()
		if _, err := kadm.NewClient(cl).DeleteTopics(context.Background(), t); err != nil {
			b.Error(err)
		}
	})
	return t
}

func records(topic string, n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i % 64)), Value: payload}
	}
	return recs
}

// recordsWithID are records carrying a 36-byte ID header as groundwork's
// do, to tell the SDK's cost from the cost of the data it carries.
func recordsWithID(topic string, n int) []*kgo.Record {
	recs := records(topic, n)
	for i, r := range recs {
		r.Headers = []kgo.RecordHeader{{Key: "mq-id", Value: []byte(uuidLike(i))}}
	}
	return recs
}

func messages(topic string, n int) []*mq.Message {
	msgs := make([]*mq.Message, n)
	for i := range msgs {
		msgs[i] = &mq.Message{Topic: topic, Key: fmt.Sprint(i % 64), Payload: payload}
	}
	return msgs
}

func rawClient(b *testing.B, k *testserver.Kafka, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

func mqClient(b *testing.B, k *testserver.Kafka) *mq.Client {
	c, err := mq.Open(context.Background(), "kafka://"+strings.Join(k.Brokers, ",")+"?heartbeat_interval=100ms")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkKafkaPublish: batches of 100 × 1 KiB, acks=all, idempotent, on
// a 3-broker kfake cluster; one op is one batch.
func BenchmarkKafkaPublish(b *testing.B) {
	k := testserver.StartKafka(b)
	ctx := context.Background()
	b.Run("franz-go", func(b *testing.B) {
		cl, t := rawClient(b, k), kafkaTopic(b, k, "raw-pub")
		publishBatches(b, batch, func() error { return cl.ProduceSync(ctx, records(t, batch)...).FirstErr() })
	})
	b.Run("franz-go-id-header", func(b *testing.B) {
		cl, t := rawClient(b, k), kafkaTopic(b, k, "raw-pub-id")
		publishBatches(b, batch, func() error { return cl.ProduceSync(ctx, recordsWithID(t, batch)...).FirstErr() })
	})
	b.Run("groundwork", func(b *testing.B) {
		c, t := mqClient(b, k), kafkaTopic(b, k, "gw-pub")
		publishBatches(b, batch, func() error { return c.Publish(ctx, messages(t, batch)...) })
	})
}

// BenchmarkKafkaConsume: b.N×100 records are produced first, then the timer
// measures a consumer group reading and committing all of them. The bare
// raw consumer polls and commits marked records without looking at them;
// the fair one also reads every record's key and calls a no-op handler per
// record, partition by partition in offset order (what a hand-written
// ordered consumer does at the least); groundwork runs a no-op handler with
// concurrency 8 (per-key order, commit of handled runs).
func BenchmarkKafkaConsume(b *testing.B) {
	k := testserver.StartKafka(b)
	ctx := context.Background()
	fill := func(b *testing.B, t string, n int) {
		cl := rawClient(b, k)
		for i := 0; i < n; i += batch {
			if err := cl.ProduceSync(ctx, records(t, batch)...).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
	}
	// rawConsume fills a topic with n records, then has a raw group member
	// poll until it has them all, take each poll (returning how many
	// records it held and marking them for commit) and commit.
	rawConsume := func(b *testing.B, name string, take func(cl *kgo.Client, fs kgo.Fetches) int) {
		t := kafkaTopic(b, k, name)
		n := b.N * batch
		fill(b, t, n)
		b.ResetTimer()
		cpu := startCPU()
		cl := rawClient(b, k, kgo.ConsumerGroup(t), kgo.ConsumeTopics(t), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.AutoCommitMarks())
		for got := 0; got < n; {
			got += take(cl, cl.PollRecords(ctx, 1000))
		}
		if err := cl.CommitMarkedOffsets(ctx); err != nil {
			b.Fatal(err)
		}
		cpu.report(b, n)
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	}
	b.Run("franz-go", func(b *testing.B) {
		rawConsume(b, "raw-con", func(cl *kgo.Client, fs kgo.Fetches) int {
			recs := fs.Records()
			cl.MarkCommitRecords(recs...)
			return len(recs)
		})
	})
	b.Run("franz-go-fair", func(b *testing.B) {
		rawConsume(b, "raw-fair", func(cl *kgo.Client, fs kgo.Fetches) int {
			got := 0
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				for _, rec := range p.Records {
					noopHandler(rec.Key, rec.Value)
				}
				got += len(p.Records)
				cl.MarkCommitRecords(p.Records...)
			})
			return got
		})
	})
	b.Run("groundwork", func(b *testing.B) {
		t := kafkaTopic(b, k, "gw-con")
		n := int64(b.N * batch)
		fill(b, t, int(n))
		// Point the group at the start of the filled topic, as the raw
		// consumer's reset offset does (a new mq group would otherwise
		// start at what is published after it subscribed).
		adm := kadm.NewClient(rawClient(b, k))
		starts, err := adm.ListStartOffsets(ctx, t)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := adm.CommitOffsets(ctx, "bench", starts.Offsets()); err != nil {
			b.Fatal(err)
		}
		c := mqClient(b, k)
		consumeGroundwork(b, c, t, n)
	})
}

// keySum keeps noopHandler's reads of the keys from being optimized away.
var keySum atomic.Uint64

// noopHandler is the fair baseline's handler: it reads the record's key,
// as groundwork must to keep per-key order, and does nothing else.
//
//go:noinline
func noopHandler(key, _ []byte) {
	var h uint64
	for _, c := range key {
		h = h*31 + uint64(c)
	}
	if h == 0 {
		keySum.Add(1)
	}
}

// cpuMeter measures the process's CPU time over a consume. On a shared
// machine the rate swings with other load, while the CPU spent per message
// (the in-process broker's share included, the same for every consumer)
// holds steady; when consuming is CPU-bound, as it is here, the rates'
// ratio follows the inverse of the CPU figures'.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	t, ok := processCPU()
	return cpuMeter{start: t, ok: ok}
}

// report adds the CPU nanoseconds per message consumed, n messages.
func (m cpuMeter) report(b *testing.B, n int) {
	if end, ok := processCPU(); m.ok && ok {
		b.ReportMetric(float64(end-m.start)/float64(n), "cpu-ns/msg")
	}
}

// publishBatches runs publish (one batch of batch 1 KiB messages) for
// b.N rounds and reports messages per second.
func publishBatches(b *testing.B, batch int, publish func() error) {
	b.SetBytes(int64(batch) * 1024)
	b.ReportAllocs()
	for b.Loop() {
		if err := publish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
}

// consumeGroundwork times a subscription of c's handling the n messages
// waiting in topic, and reports messages per second.
func consumeGroundwork(b *testing.B, c *mq.Client, topic string, n int64) {
	var got atomic.Int64
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	sub, err := c.Subscribe(context.Background(), topic, "bench", func(context.Context, *mq.Message) error {
		if got.Add(1) == n {
			close(done)
		}
		return nil
	}, mq.WithConcurrency(8), mq.WithPrefetch(2000))
	if err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	cpu.report(b, int(n))
	sub.Close()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
