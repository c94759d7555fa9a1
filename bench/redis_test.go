package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

func redisClient(b *testing.B, r *testserver.Redis) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	b.Cleanup(func() { rdb.Close() })
	return rdb
}

// redisTopic returns a new topic name and empties the server when the
// benchmark run ends, so that no run pays for the memory of the ones
// before it.
func redisTopic(b *testing.B, r *testserver.Redis, prefix string) string {
	b.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
		defer rdb.Close()
		if err := rdb.FlushAll(context.Background()).Err(); err != nil {
			b.Error(err)
		}
	})
	return topic(prefix)
}

func redisMQ(b *testing.B, r *testserver.Redis) *mq.Client {
	c, err := mq.Open(context.Background(), r.URL+"?block=100ms")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// rawXAdd is what a hand-written go-redis producer does: one pipeline of
// XADDs (MAXLEN ~ like groundwork's default) per batch.
func rawXAdd(ctx context.Context, rdb *redis.Client, stream string, n int) error {
	pipe := rdb.Pipeline()
	for i := range n {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, MaxLen: 1_000_000, Approx: true,
			Values: []any{"key", strconv.Itoa(i % 64), "payload", payload}})
	}
	_, err := pipe.Exec(ctx)
	return err
}

// rawXAddSameFields appends what groundwork appends — ID, key and payload
// (the time rides in the UUIDv7 ID) — to tell the SDK's cost from the cost
// of the data it carries.
func rawXAddSameFields(ctx context.Context, rdb *redis.Client, stream string, n int) error {
	pipe := rdb.Pipeline()
	for i := range n {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, MaxLen: 1_000_000, Approx: true,
			Values: []any{"id", uuidLike(i), "key", strconv.Itoa(i % 64), "payload", payload}})
	}
	_, err := pipe.Exec(ctx)
	return err
}

// uuidLike returns a 36-byte ID as a message ID would be.
func uuidLike(i int) string { return fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012x", i) }

func watermillMessages(n int) []*message.Message {
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = message.NewMessage(watermill.NewUUID(), payload)
	}
	return msgs
}

// BenchmarkRedisPublish: batches of 100 × 1 KiB on one redis-server; one
// op is one batch.
func BenchmarkRedisPublish(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	ctx := context.Background()
	b.Run("go-redis", func(b *testing.B) {
		rdb, t := redisClient(b, r), redisTopic(b, r, "raw-pub")
		publishBatches(b, batch, func() error { return rawXAdd(ctx, rdb, t, batch) })
	})
	b.Run("go-redis-same-fields", func(b *testing.B) {
		rdb, t := redisClient(b, r), redisTopic(b, r, "raw-pub-fields")
		publishBatches(b, batch, func() error { return rawXAddSameFields(ctx, rdb, t, batch) })
	})
	b.Run("groundwork", func(b *testing.B) {
		c, t := redisMQ(b, r), redisTopic(b, r, "gw-pub")
		publishBatches(b, batch, func() error { return c.Publish(ctx, messages(t, batch)...) })
	})
	b.Run("watermill", func(b *testing.B) {
		pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: redisClient(b, r), DefaultMaxlen: 1_000_000}, watermill.NopLogger{})
		if err != nil {
			b.Fatal(err)
		}
		t := redisTopic(b, r, "wm-pub")
		publishBatches(b, batch, func() error { return pub.Publish(t, watermillMessages(batch)...) })
	})
}

// BenchmarkRedisConsume: b.N×100 entries are appended first, then the timer
// measures one group member reading and acknowledging all of them. The raw
// consumer loops XREADGROUP COUNT 100 + XACK of the batch; groundwork runs a
// no-op handler with concurrency 8 (per-key order, batched XACK);
// watermill's subscriber acks each message from its channel.
func BenchmarkRedisConsume(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	ctx := context.Background()
	b.Run("go-redis", func(b *testing.B) {
		rdb, t := redisClient(b, r), redisTopic(b, r, "raw-con")
		n := b.N * batch
		for i := 0; i < n; i += batch {
			if err := rawXAdd(ctx, rdb, t, batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := rdb.XGroupCreate(ctx, t, "bench", "0").Err(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		ids := make([]string, 0, batch)
		for got := 0; got < n; {
			res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "bench", Consumer: "c", Streams: []string{t, ">"},
				Count: batch, Block: time.Second}).Result()
			if err != nil {
				b.Fatal(err)
			}
			ids = ids[:0]
			for _, m := range res[0].Messages {
				ids = append(ids, m.ID)
			}
			if err := rdb.XAck(ctx, t, "bench", ids...).Err(); err != nil {
				b.Fatal(err)
			}
			got += len(ids)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("groundwork", func(b *testing.B) {
		c, t := redisMQ(b, r), redisTopic(b, r, "gw-con")
		n := int64(b.N * batch)
		for i := int64(0); i < n; i += batch {
			if err := c.Publish(ctx, messages(t, batch)...); err != nil {
				b.Fatal(err)
			}
		}
		// Start the group at the streams' beginning, as the raw consumer
		// does (an mq group otherwise starts at what is published after
		// its first Subscribe).
		rdb := redisClient(b, r)
		for p := range 8 {
			if err := rdb.XGroupCreate(ctx, "mq:{"+t+"/"+strconv.Itoa(p)+"}", "bench", "0").Err(); err != nil {
				b.Fatal(err)
			}
		}
		consumeGroundwork(b, c, t, n)
	})
	b.Run("watermill", func(b *testing.B) {
		rdb, t := redisClient(b, r), redisTopic(b, r, "wm-con")
		pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rdb}, watermill.NopLogger{})
		if err != nil {
			b.Fatal(err)
		}
		n := b.N * batch
		for i := 0; i < n; i += batch {
			if err := pub.Publish(t, watermillMessages(batch)...); err != nil {
				b.Fatal(err)
			}
		}
		sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{Client: rdb, ConsumerGroup: "bench", Consumer: "c",
			OldestId: "0", BlockTime: 100 * time.Millisecond}, watermill.NopLogger{})
		if err != nil {
			b.Fatal(err)
		}
		drainWatermill(b, sub, t, n)
	})
}
