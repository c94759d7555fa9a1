//go:build !race

// The tests in this file drive rocketmq-client-go's push consumer and
// producer against the double, and do not run under -race: the client
// has data races of its own on its ordinary paths, which -race reports
// in whichever test meets them first:
//   - processQueue.takeMessages reads the message cache (msgCache.Empty)
//     without the queue's lock while the pull goroutine's putMessage
//     writes it, on every orderly consume
//     (https://github.com/apache/rocketmq-client-go/issues/1213);
//   - rmqClient.close is written by Shutdown and read by InvokeSync
//     without synchronisation, on every Close racing a rebalance, pull
//     or lock renewal (https://github.com/apache/rocketmq-client-go/pull/1115,
//     unmerged).
// They are in the dependency, where a replace directive in our go.mod
// would not reach the builds of our users. scripts/test runs these tests
// without -race in a step of their own; the receiver's own concurrency is
// race-checked without the client in receiver_test.go.

package rocketmq_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	_ "github.com/groundwork-go/groundwork/mq/rocketmq"
)

// testParams keep hand-backs and lock renewals quick on a loaded machine;
// max_message_bytes above the double's limit lets Refuse's message
// through the client's check to the broker, which refuses it.
const testParams = "suspend_interval=20ms&lock_interval=1s&max_message_bytes=4194304&send_timeout=10s"

// doubleLimit is the double broker's maxMessageSize: below the clients'
// max_message_bytes, so that the broker refuses what they let through.
const doubleLimit = 2 << 20

func harness(url string) mqtest.Harness {
	return mqtest.Harness{
		URL: url,
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.Open(context.Background(), url, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		MaxMessageBytes: 4194304 - 1024,
		SubscriptionAs:  func() any { return new(rmq.PushConsumer) },
	}
}

// lockExpiry is the double broker's queue-lock lifetime, shortened from
// RocketMQ's 60 s: a member that stays hands a queue a rebalance moves
// over (handover.go), but one that dies without unlocking leaves its
// locks to lapse. 10 s still far outlasts what
// the lock protects here, the old owner finishing the batch in its hands
// (milliseconds of handler work); live owners renew every lock_interval
// (1 s).
const lockExpiry = 10 * time.Second

func TestConformance(t *testing.T) {
	srv := testserver.StartRocketMQ(t, testserver.RocketMQMaxMessageBytes(doubleLimit),
		testserver.RocketMQLockExpiry(lockExpiry))
	h := harness("rocketmq://" + srv.NameServer() + "?" + testParams)
	h.Outage = srv.Outage
	h.Refuse = func(t testing.TB, topic string, _ []string) *mq.Message {
		// Over the broker's limit, under the client's: refused for good.
		return &mq.Message{Topic: topic, Key: "poison", Payload: incompressible(doubleLimit + 1<<20)}
	}
	mqtest.RunConformanceTests(t, h)
}

// TestConformanceRealCluster runs the suite against the cluster whose name
// servers GROUNDWORK_ROCKETMQ_NAMESRV names ("host:port;host:port"), for
// example the one deploy/compose.yaml starts.
func TestConformanceRealCluster(t *testing.T) {
	ns := os.Getenv("GROUNDWORK_ROCKETMQ_NAMESRV")
	if ns == "" {
		t.Skip("GROUNDWORK_ROCKETMQ_NAMESRV is not set: no real RocketMQ cluster to run the suite against")
	}
	h := harness("rocketmq://" + strings.ReplaceAll(ns, ",", ";") + "?send_timeout=10s")
	mqtest.RunConformanceTests(t, h)
}

// incompressible returns n random bytes: what the client's zlib
// compression of large bodies does not shrink.
func incompressible(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
