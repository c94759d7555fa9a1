package testserver

import (
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka is an in-process Kafka cluster (franz-go's kfake) speaking the
// real wire protocol on loopback ports, or an external cluster named by
// GROUNDWORK_KAFKA_BROKERS (then Cluster is nil and faults cannot be
// staged).
type Kafka struct {
	// Brokers are host:port seed addresses.
	Brokers []string
	// Cluster is the kfake cluster, for fault hooks (Control, RemoveNode,
	// AddNode, ...); nil for an external cluster.
	Cluster *kfake.Cluster

	mu        sync.Mutex
	listeners []*switchListener
}

// KafkaMaxMessageBytes is the broker's message.max.bytes in clusters
// StartKafka makes: room for the conformance suite's 1 MiB payloads.
const KafkaMaxMessageBytes = 4 << 20

// StartKafka returns GROUNDWORK_KAFKA_BROKERS when set, else starts a
// 3-broker kfake cluster that is closed when t ends.
func StartKafka(t testing.TB) *Kafka {
	t.Helper()
	if b := os.Getenv("GROUNDWORK_KAFKA_BROKERS"); b != "" {
		return &Kafka{Brokers: strings.Split(b, ",")}
	}
	k := &Kafka{}
	c, err := kfake.NewCluster(
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			l, err := newSwitchListener(network, address)
			if err == nil {
				k.mu.Lock()
				k.listeners = append(k.listeners, l)
				k.mu.Unlock()
			}
			return l, err
		}),
		kfake.NumBrokers(3),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(6),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4194304"}),
	)
	if err != nil {
		t.Fatalf("testserver: kfake: %v", err)
	}
	t.Cleanup(c.Close)
	k.Brokers, k.Cluster = c.ListenAddrs(), c
	return k
}

// Outage takes every broker off the network until restore is called:
// their ports refuse connections and open connections are cut, as when a
// cluster goes down. The brokers keep their data.
func (k *Kafka) Outage(t testing.TB) (restore func()) {
	t.Helper()
	if k.Cluster == nil {
		Unavailable(t, "cannot stage an outage on an external Kafka cluster")
	}
	k.mu.Lock()
	ls := append([]*switchListener(nil), k.listeners...)
	k.mu.Unlock()
	for _, l := range ls {
		l.down()
	}
	return func() {
		for _, l := range ls {
			if err := l.restore(); err != nil {
				t.Errorf("testserver: bring broker %s back: %v", l.addr, err)
			}
		}
	}
}
