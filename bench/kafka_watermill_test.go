package bench

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// watermill's Kafka pub/sub (on Sarama) on the same kind of cluster as
// BenchmarkKafkaPublish / BenchmarkKafkaConsume, with its default
// configuration: a Sarama sync producer with Sarama's default acks
// (WaitForLocal, the leader only: less than the acks=all of the others).

func BenchmarkKafkaPublishWatermill(b *testing.B) {
	k := testserver.StartKafka(b)
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: k.Brokers, Marshaler: kafka.DefaultMarshaler{}}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pub.Close() })
	t := kafkaTopic(b, k, "wm-pub")
	b.SetBytes(batch * 1024)
	b.ReportAllocs()
	for b.Loop() {
		if err := pub.Publish(t, watermillMessages(batch)...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkKafkaConsumeWatermill(b *testing.B) {
	k := testserver.StartKafka(b)
	ctx := context.Background()
	t := kafkaTopic(b, k, "wm-con")
	n := b.N * batch
	cl := rawClient(b, k)
	for i := 0; i < n; i += batch {
		if err := cl.ProduceSync(ctx, records(t, batch)...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	cfg := kafka.DefaultSaramaSubscriberConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: k.Brokers, Unmarshaler: kafka.DefaultMarshaler{},
		ConsumerGroup: "bench", OverwriteSaramaConfig: cfg}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	drainWatermill(b, sub, t, n)
}

// drainWatermill times a watermill subscriber receiving and acking the n
// messages waiting in topic, and reports messages per second.
func drainWatermill(b *testing.B, sub message.Subscriber, topic string, n int) {
	b.ReportAllocs()
	b.ResetTimer()
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		(<-ch).Ack()
	}
	b.StopTimer()
	sub.Close()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
