package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/outbox"
)

// BenchmarkRelay: rows relayed per second from a real PostgreSQL to the
// in-process broker, by one relay and by two, batch 100, 16 keys.
// b.N rows are committed first (not timed); the clock runs from Run to
// the last publish.
func BenchmarkRelay(b *testing.B) {
	for _, relays := range []int{1, 2} {
		b.Run(fmt.Sprintf("relays=%d", relays), func(b *testing.B) {
			benchRelay(b, relays)
		})
	}
}

func benchRelay(b *testing.B, relays int) {
	ctx := context.Background()
	bus, rec := newBus(b)
	cfg := newDB(b)
	var obs []*outbox.Outbox
	for range relays {
		pool := newPool(b, cfg.Copy())
		ob, err := outbox.New(ctx, pool, bus, outbox.WithPollInterval(10*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ob.Close() })
		obs = append(obs, ob)
	}
	pool := newPool(b, cfg)
	for i := 0; i < b.N; i += 1000 {
		var msgs []*mq.Message
		for j := i; j < min(i+1000, b.N); j++ {
			msgs = append(msgs, &mq.Message{Topic: "t", Key: fmt.Sprint("k", j%16), Payload: make([]byte, 100)})
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := obs[0].Enqueue(ctx, tx, msgs...); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, relays)
	for _, ob := range obs {
		go func() { ob.Run(rctx); done <- struct{}{} }()
	}
	rec.wait(b, "every row", func(log []driver.Message) bool { return len(log) >= b.N })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	cancel()
	for range relays {
		<-done
	}
}
