package redismq_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild() // re-executed by TestConsumerSIGKILL
	}
	goleak.VerifyTestMain(m)
}

// testParams keep heartbeats, blocking reads and timeouts short so that
// joins, hand-overs and outages play out within a test's patience.
const testParams = "max_message_bytes=2097152&visibility_timeout=3s&heartbeat_interval=100ms&block=100ms&ack_interval=20ms" +
	"&dial_timeout=1s&read_timeout=1s&write_timeout=1s"

func harness(url string, outage func(testing.TB) func()) mqtest.Harness {
	return mqtest.Harness{
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.Open(context.Background(), url, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		MaxMessageBytes: 2 << 20,
		Outage:          outage,
	}
}

func TestConformance(t *testing.T) {
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		// The user's own server: everything but the outages, which need
		// a server process this test controls.
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		mqtest.RunConformanceTests(t, harness(u+sep+testParams, nil))
		return
	}
	r := testserver.StartRedis(t, nil)
	mqtest.RunConformanceTests(t, harness(r.URL+"?"+testParams, func(testing.TB) func() {
		r.Pause()
		var once sync.Once
		return func() { once.Do(r.Resume) }
	}))
}

func TestConformanceCluster(t *testing.T) {
	rc := testserver.StartRedisCluster(t)
	mqtest.RunConformanceTests(t, harness("redis://"+strings.Join(rc.Addrs, ",")+"?"+testParams, rc.Outage))
}
