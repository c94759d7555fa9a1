package redismq_test

import (
	"context"
	"hash/fnv"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/redisx"
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

// harness tests the server at base (a URL without the test parameters).
func harness(base string, outage func(testing.TB) func()) mqtest.Harness {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	withParams := base + sep + testParams
	return mqtest.Harness{
		URL: withParams,
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.Open(context.Background(), withParams, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		MaxMessageBytes: 2 << 20,
		Outage:          outage,
		Refuse:          func(t testing.TB, topic string, accept []string) *mq.Message { return refuse(t, base, topic, accept) },
	}
}

// refuse makes Redis refuse, for good, every XADD to one partition stream
// of topic, one that none of the accept keys maps to: that stream has used
// up its IDs (XSETID to the largest), so XADD answers "ERR The stream has
// exhausted the last possible ID". It returns a message whose key maps
// there. Keys and partitions follow the package doc's layout.
func refuse(t testing.TB, base, topic string, accept []string) *mq.Message {
	ctx := context.Background()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := redisx.NewClient(u, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	meta := "mq:" + redisx.HashTag(topic) + ":meta"
	if err := rdb.SetNX(ctx, meta, 8, 0).Err(); err != nil { // the clients' default partitions
		t.Fatal(err)
	}
	n, err := rdb.Get(ctx, meta).Int()
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, k := range accept {
		used[partitionOf(k, n)] = true
	}
	key := ""
	for i := 0; key == ""; i++ {
		if k := "poison-" + strconv.Itoa(i); !used[partitionOf(k, n)] {
			key = k
		}
		if i > 10000 {
			t.Fatalf("no key maps to a partition that none of %v does", accept)
		}
	}
	stream := "mq:" + redisx.HashTag(topic+"/"+strconv.Itoa(partitionOf(key, n)))
	if err := rdb.Do(ctx, "XADD", stream, "MAXLEN", "0", "*", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "XSETID", stream, "18446744073709551615-18446744073709551615").Err(); err != nil {
		t.Fatal(err)
	}
	return &mq.Message{Topic: topic, Key: key, Payload: []byte("refused: its stream has used up its IDs")}
}

// partitionOf is the package doc's key-to-partition map: 32-bit FNV-1a.
func partitionOf(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

func TestConformance(t *testing.T) {
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		// The user's own server: everything but the outages, which need
		// a server process this test controls.
		mqtest.RunConformanceTests(t, harness(u, nil))
		return
	}
	r := testserver.StartRedis(t, nil)
	mqtest.RunConformanceTests(t, harness(r.URL, func(testing.TB) func() {
		r.Pause()
		var once sync.Once
		return func() { once.Do(r.Resume) }
	}))
}

func TestConformanceCluster(t *testing.T) {
	rc := testserver.StartRedisCluster(t)
	mqtest.RunConformanceTests(t, harness("redis://"+strings.Join(rc.Addrs, ","), rc.Outage))
}
