package kafkamq_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/resilience"
)

// kafkaDefaultMaxMessageBytes is Apache Kafka's default message.max.bytes.
const kafkaDefaultMaxMessageBytes = 1048588

// TestBurstOverBrokerLimitDrains: during an outage the buffer takes a
// burst of poorly compressible records to one partition, several times
// Kafka's default message.max.bytes in all. Once the broker is back the
// flusher sends them in large calls, and the producer must never build a
// record batch the broker refuses (or, when the client's limit is set above
// the topic's, must split what is refused): everything arrives, in order,
// and nothing is dead-lettered, since every record fits on its own.
func TestBurstOverBrokerLimitDrains(t *testing.T) {
	t.Parallel() // see TestConformance
	for name, params := range map[string]string{
		"default max_message_bytes":      "",
		"max_message_bytes over topic's": "&max_message_bytes=2097152",
	} {
		t.Run(name, func(t *testing.T) {
			k := faultCluster(t)
			topic := "burst-" + strings.ReplaceAll(name, " ", "-")
			createTopic(t, k, topic, map[string]string{"max.message.bytes": fmt.Sprint(kafkaDefaultMaxMessageBytes)})
			url := "kafka://" + strings.Join(k.Brokers, ",") + "?delivery_timeout=3s&session_timeout=3s&heartbeat_interval=100ms&commit_interval=100ms" + params

			reader, err := mq.Open(context.Background(), url, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			var seq sequence
			sub, err := reader.Subscribe(context.Background(), topic, "g", seq.handle)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			var dead sequence
			dsub, err := reader.Subscribe(context.Background(), topic+".dlq", "g", dead.handle)
			if err != nil {
				t.Fatal(err)
			}
			defer dsub.Close()
			pub, err := mq.Open(context.Background(), url, mq.WithOutageBuffer(t.TempDir()),
				mq.WithRetry(resilience.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond}),
				mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 50 * time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()

			const n, size = 320, 8 << 10 // 2.6 MB to one partition
			restore := k.Outage(t)
			for i := range n {
				p := incompressible(size)
				binary.BigEndian.PutUint64(p, uint64(i))
				if err := pub.Publish(context.Background(), &mq.Message{Topic: topic, Key: "one-partition", Payload: p}); err != nil {
					restore()
					t.Fatalf("publish %d during the outage: %v", i, err)
				}
			}
			if pub.Buffered() != n {
				restore()
				t.Fatalf("%d publishes buffered during the outage, want %d", pub.Buffered(), n)
			}
			restore()
			waitFor(t, "the burst to arrive", func() bool { return seq.next() == n || seq.failed() != "" })
			if f := seq.failed(); f != "" {
				t.Fatal(f)
			}
			waitFor(t, "the buffer to drain", func() bool { return pub.Buffered() == 0 })
			if q, err := pub.Quarantined(context.Background()); err != nil || len(q) > 0 {
				t.Fatalf("quarantine: %d entries, %v", len(q), err)
			}
			if dead.count() > 0 {
				t.Fatalf("%d records dead-lettered, though each fits the broker's limit", dead.count())
			}
		})
	}
}

// TestLargestAcceptedMessageFitsTheBrokersLimit: with max_message_bytes
// set to the topic's max.message.bytes, the largest message mq lets
// through (headers and a trace context included) fits one record batch the
// broker takes, and one byte more is refused before sending.
func TestLargestAcceptedMessageFitsTheBrokersLimit(t *testing.T) {
	k := testserver.StartKafka(t)
	const limit = 64 << 10
	topic := "largest-message"
	createTopic(t, k, topic, map[string]string{"max.message.bytes": fmt.Sprint(limit)})
	c, err := mq.Open(context.Background(), "kafka://"+strings.Join(k.Brokers, ",")+"?max_message_bytes="+fmt.Sprint(limit), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	headers := map[string]string{"a": "1", "b": "2", "traceparent": "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"}
	m := &mq.Message{Topic: topic, Key: "k", ID: "01a22878-45b6-708f-8624-afe62709bdf5", Headers: headers,
		Time: time.Now().Add(-time.Hour)} // an old Time travels in a header too
	fixed := (&driver.Message{Key: m.Key, ID: m.ID, Headers: headers}).Size()
	m.Payload = incompressible(limit - 512 - fixed)
	if err := c.Publish(context.Background(), m); err != nil {
		t.Fatalf("the largest message mq accepts: %v", err)
	}
	m.ID, m.Payload = "", incompressible(limit-512-fixed+1)
	if err := c.Publish(context.Background(), m); !errors.Is(err, mq.ErrTooLarge) || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("one byte more: %v, want mq's own ErrTooLarge", err)
	}
}

// sequence checks that payloads, numbered by their first 8 bytes, arrive
// in order; lower numbers again are redeliveries.
type sequence struct {
	mu     sync.Mutex
	want   uint64
	seen   int
	broken string
}

func (s *sequence) handle(_ context.Context, m *mq.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	if len(m.Payload) < 8 {
		s.broken = fmt.Sprintf("payload of %d bytes", len(m.Payload))
		return nil
	}
	switch got := binary.BigEndian.Uint64(m.Payload); {
	case got == s.want:
		s.want++
	case got > s.want && s.broken == "":
		s.broken = fmt.Sprintf("record %d arrived before %d", got, s.want)
	}
	return nil
}

func (s *sequence) next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.want
}

func (s *sequence) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

func (s *sequence) failed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken
}
