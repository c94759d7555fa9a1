package rocketmq_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	_ "github.com/groundwork-go/groundwork/mq/rocketmq"
)

// TestMain checks that no goroutine outlives the tests. The client's
// background goroutines end up to ~10 s after Close (see the package doc,
// "Global state and goroutines"), longer than goleak waits by itself: it
// is asked again for up to 30 s, rather than told to ignore them, so that
// one that never ends is still caught. Ignored, by function name, are
// the goroutines the client cannot stop (see the package doc): the
// janitor of its package-level request/reply cache, and each push
// consumer's three statistics printers.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(30 * time.Second)
		ignore := []goleak.Option{goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run")}
		for _, f := range []string{"func4", "func5", "func6"} {
			// The consumer's statistics printers: they sleep until the next
			// minute, hour and month before they look at their stop
			// channel (see the package doc).
			ignore = append(ignore, goleak.IgnoreAnyFunction("github.com/apache/rocketmq-client-go/v2/consumer.(*statsItemSet).init."+f))
		}
		for err := goleak.Find(ignore...); err != nil; err = goleak.Find(ignore...) {
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: goroutines still running 30 s after the tests: %v\n", err)
				code = 1
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	os.Exit(code)
}

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
	}
}

func TestConformance(t *testing.T) {
	srv := testserver.StartRocketMQ(t, testserver.RocketMQMaxMessageBytes(doubleLimit))
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
