package kafkamq_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testParams keep group timings short so that joins, rebalances and
// failovers happen within a test's patience on a loaded machine.
const testParams = "max_message_bytes=2097152&delivery_timeout=3s&session_timeout=3s&heartbeat_interval=100ms&rebalance_timeout=20s&commit_interval=100ms"

func kafkaURL(k *testserver.Kafka) string {
	return "kafka://" + strings.Join(k.Brokers, ",") + "?" + testParams
}

func harness(k *testserver.Kafka) mqtest.Harness {
	h := mqtest.Harness{
		URL: kafkaURL(k),
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.Open(context.Background(), kafkaURL(k), opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		MaxMessageBytes: 2<<20 - 512, // max_message_bytes less a record's framing
		SubscriptionAs:  func() any { return new(*kgo.Client) },
		Refuse: func(t testing.TB, topic string, _ []string) *mq.Message {
			createTopic(t, k, topic, map[string]string{"max.message.bytes": "16384"})
			return &mq.Message{Topic: topic, Key: "poison", Payload: incompressible(32 << 10)}
		},
	}
	if k.Cluster != nil {
		h.Outage = k.Outage
	}
	return h
}

// createTopic creates topic with the broker's default partitions and
// replication and the given topic-level configs.
func createTopic(t testing.TB, k *testserver.Kafka, topic string, configs map[string]string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cfg := map[string]*string{}
	for name, v := range configs {
		cfg[name] = &v
	}
	resp, err := kadm.NewClient(cl).CreateTopic(context.Background(), -1, -1, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// incompressible returns n random bytes: what no codec makes smaller.
func incompressible(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestConformance, TestBurstOverBrokerLimitDrains and
// TestProduceFailuresThenDrain each start their own kfake cluster and
// spend most of their time waiting out outages and delivery timeouts:
// they run alongside each other.
func TestConformance(t *testing.T) {
	t.Parallel()
	mqtest.RunConformanceTests(t, harness(testserver.StartKafka(t)))
}
