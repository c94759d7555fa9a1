package kafkamq_test

import (
	"context"
	"strings"
	"testing"

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
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.Open(context.Background(), kafkaURL(k), opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		MaxMessageBytes: 2 << 20,
	}
	if k.Cluster != nil {
		h.Outage = k.Outage
	}
	return h
}

func TestConformance(t *testing.T) {
	mqtest.RunConformanceTests(t, harness(testserver.StartKafka(t)))
}
