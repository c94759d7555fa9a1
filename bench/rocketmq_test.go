package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/rocketmq"
)

// The RocketMQ benchmarks run mq/rocketmq and the bare rocketmq-client-go
// on the same in-process double (internal/testserver), in the same run:
// only their ratios mean anything; the double's speed is not RocketMQ's.

var rmqInstance atomic.Int64

// rmqName is a client instance or group name unique in this process (the
// client shares one native client per instance name).
func rmqName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, rmqInstance.Add(1)) }

func rawRocketProducer(b *testing.B, r *testserver.RocketMQ) rmq.Producer {
	p, err := rmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{r.NameServer()})),
		producer.WithGroupName(rmqName("bench-pg")), producer.WithInstanceName(rmqName("bench-p")))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown() })
	return p
}

func rocketMessages(topic string, n int) []*primitive.Message {
	msgs := make([]*primitive.Message, n)
	for i := range msgs {
		msgs[i] = primitive.NewMessage(topic, payload).WithKeys([]string{fmt.Sprint(i % 64)})
	}
	return msgs
}

func rocketMQClient(b *testing.B, r *testserver.RocketMQ) *mq.Client {
	c, err := mq.Open(context.Background(), "rocketmq://"+r.NameServer())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkRocketMQPublish: batches of 100 × 1 KiB messages on 64 keys,
// each sent synchronously (SendSync; mq/rocketmq sends one message at a
// time too, choosing the queue by key hash); one op is one batch.
func BenchmarkRocketMQPublish(b *testing.B) {
	rlog.SetLogLevel("error")
	r := testserver.StartRocketMQ(b)
	ctx := context.Background()
	b.Run("rocketmq-client-go", func(b *testing.B) {
		p, t := rawRocketProducer(b, r), topic("raw-pub")
		publishBatches(b, batch, func() error {
			for _, m := range rocketMessages(t, batch) {
				if _, err := p.SendSync(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("groundwork", func(b *testing.B) {
		c, t := rocketMQClient(b, r), topic("gw-pub")
		publishBatches(b, batch, func() error { return c.Publish(ctx, messages(t, batch)...) })
	})
}

// BenchmarkRocketMQConsume: b.N×100 messages are sent first, then one
// group member reads them all from the start. msgs/s is taken from the
// first message handled to the last, leaving out the member's start (the
// client's first pull of an orderly queue waits 3 s for its lock, and
// rebalancing is on the client's timers), which ns/op includes. The raw
// push consumers return ConsumeSuccess for every batch: concurrently (the
// client's default) and orderly (what mq/rocketmq uses, so one queue's
// messages are handled in order); groundwork runs a no-op handler with
// concurrency 8 (per-key order, offsets committed past acknowledged
// batches).
func BenchmarkRocketMQConsume(b *testing.B) {
	rlog.SetLogLevel("error")
	r := testserver.StartRocketMQ(b)
	ctx := context.Background()
	fill := func(b *testing.B, t string, n int) {
		p := rawRocketProducer(b, r)
		for i := 0; i < n; i += batch {
			for _, m := range rocketMessages(t, batch) {
				if _, err := p.SendSync(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	raw := func(b *testing.B, orderly bool) {
		t := topic("raw-con")
		n := int64(b.N * batch)
		fill(b, t, int(n))
		var rate rateMeter
		done := make(chan struct{})
		b.ReportAllocs()
		b.ResetTimer()
		cpu := startCPU()
		pc, err := rmq.NewPushConsumer(
			consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{r.NameServer()})),
			consumer.WithGroupName(rmqName("bench-g")), consumer.WithInstance(rmqName("bench-c")),
			consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset), consumer.WithConsumerOrder(orderly))
		if err != nil {
			b.Fatal(err)
		}
		err = pc.Subscribe(t, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				noopHandler([]byte(m.GetKeys()), m.Body)
			}
			if rate.add(int64(len(msgs))) == n {
				close(done)
			}
			return consumer.ConsumeSuccess, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := pc.Start(); err != nil {
			b.Fatal(err)
		}
		<-done
		b.StopTimer()
		cpu.report(b, int(n))
		pc.Shutdown()
		rate.report(b, n)
	}
	b.Run("rocketmq-client-go", func(b *testing.B) { raw(b, false) })
	b.Run("rocketmq-client-go-orderly", func(b *testing.B) { raw(b, true) })
	b.Run("groundwork", func(b *testing.B) {
		t := topic("gw-con")
		n := int64(b.N * batch)
		fill(b, t, int(n))
		c := rocketMQClient(b, r)
		var rate rateMeter
		done := make(chan struct{})
		b.ReportAllocs()
		b.ResetTimer()
		cpu := startCPU()
		// A new group starts where the double answers: offset 0, the
		// topic's start (as a RocketMQ 4.x broker does while the queue's
		// first message is in memory).
		sub, err := c.Subscribe(ctx, t, rmqName("bench-g"), func(context.Context, *mq.Message) error {
			if rate.add(1) == n {
				close(done)
			}
			return nil
		}, mq.WithConcurrency(8))
		if err != nil {
			b.Fatal(err)
		}
		<-done
		b.StopTimer()
		cpu.report(b, int(n))
		sub.Close()
		rate.report(b, n)
	})
}

// rateMeter times a consume from its first message to its last.
type rateMeter struct {
	got         atomic.Int64
	first, last atomic.Int64 // unix nanoseconds
}

// add counts k messages handled and returns the count so far.
func (m *rateMeter) add(k int64) int64 {
	now := time.Now().UnixNano()
	m.first.CompareAndSwap(0, now)
	for old := m.last.Load(); now > old && !m.last.CompareAndSwap(old, now); old = m.last.Load() {
	}
	return m.got.Add(k)
}

func (m *rateMeter) report(b *testing.B, n int64) {
	if d := time.Duration(m.last.Load() - m.first.Load()); d > 0 {
		b.ReportMetric(float64(n)/d.Seconds(), "msgs/s")
	}
}
