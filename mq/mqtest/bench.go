package mqtest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
)

// RunBenchmarks measures publish cost and publish-to-handler throughput
// on the provider of h. Each client the harness makes should be an
// independent broker namespace or use fresh topics (the suite does).
func RunBenchmarks(b *testing.B, h Harness) {
	payload := make([]byte, 1024)
	b.Run("Publish1KiB", func(b *testing.B) {
		c := h.client(b)
		m := &mq.Message{Topic: uniqueTopic(b), Key: "k", Payload: payload}
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			m.ID, m.Time = "", timeZero
			if err := c.Publish(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PublishBatch100x1KiB", func(b *testing.B) {
		c := h.client(b)
		topic := uniqueTopic(b)
		batch := make([]*mq.Message, 100)
		for i := range batch {
			batch[i] = &mq.Message{Topic: topic, Key: strconv.Itoa(i), Payload: payload}
		}
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload) * len(batch)))
		for b.Loop() {
			for _, m := range batch {
				m.ID, m.Time = "", timeZero
			}
			if err := c.Publish(ctx, batch...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("PublishToHandler/concurrency=8", func(b *testing.B) {
		c := h.client(b)
		topic := uniqueTopic(b)
		// The handler closes done when it has seen target messages; the
		// target is only known when the loop ends, so -1 until then.
		var got, target atomic.Int64
		target.Store(-1)
		done := make(chan struct{})
		var once sync.Once
		// At most window messages in flight, so the benchmark measures the
		// steady state rather than how fast a backlog grows.
		const window = 4096
		room := make(chan struct{}, window)
		sub, err := c.Subscribe(context.Background(), topic, "bench", func(context.Context, *mq.Message) error {
			<-room
			if got.Add(1) == target.Load() {
				once.Do(func() { close(done) })
			}
			return nil
		}, h.subOpts(mq.WithConcurrency(8))...)
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		batch := make([]*mq.Message, 0, 100)
		n := 0
		for b.Loop() {
			room <- struct{}{}
			batch = append(batch, &mq.Message{Topic: topic, Key: strconv.Itoa(n % 64), Payload: payload})
			n++
			if len(batch) == cap(batch) {
				if err := c.Publish(context.Background(), batch...); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			if err := c.Publish(context.Background(), batch...); err != nil {
				b.Fatal(err)
			}
		}
		target.Store(int64(n))
		if got.Load() >= int64(n) {
			once.Do(func() { close(done) })
		}
		<-done
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	})
}
