package kafkamq_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/kafkamq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	"github.com/groundwork-go/groundwork/resilience"
)

var quiet = mq.WithLogger(slog.New(slog.DiscardHandler))

func open(t *testing.T, k *testserver.Kafka, opts ...mq.Option) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), kafkaURL(k), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCommitStopsAtUnhandledRecord: records acknowledged after an
// unacknowledged one are not committed past it; the group's next member
// starts at the unacknowledged record.
func TestCommitStopsAtUnhandledRecord(t *testing.T) {
	k := testserver.StartKafka(t)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	conn, err := kafkamq.New(cl, &kafkamq.Options{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const topic, group = "contiguous", "g"
	recv, err := conn.Subscribe(ctx, topic, group)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []driver.Message{{Topic: topic, Key: "a", ID: "0"}, {Topic: topic, Key: "b", ID: "1"}, {Topic: topic, Key: "c", ID: "2"}}
	if err := conn.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	dels := receiveN(t, recv, 3)
	// The first record stays in flight; the two after it are handled.
	for _, d := range dels[1:] {
		if err := recv.Ack(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	recv.Close() // commits what is committable and leaves
	adm := kadm.NewClient(cl)
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh one-partition topic: the records are offsets 0, 1, 2.
	if o, ok := offs.Lookup(topic, 0); !ok || o.At != 0 {
		t.Fatalf("committed %+v; want 0, the unhandled record", o)
	}
	// The next member starts at the unhandled record.
	recv2, err := conn.Subscribe(ctx, topic, group)
	if err != nil {
		t.Fatal(err)
	}
	again := receiveN(t, recv2, 3)
	if again[0].ID != "0" {
		t.Fatalf("next member started at %q, want the unhandled record 0", again[0].ID)
	}
	for _, d := range again {
		recv2.Ack(ctx, d)
	}
	recv2.Close()
	offs, _ = adm.FetchOffsets(ctx, group)
	if o, _ := offs.Lookup(topic, 0); o.At != 3 {
		t.Fatalf("after handling everything the group committed %d, want 3", o.At)
	}
}

// faultCluster starts a kfake cluster, whose fault hooks the test needs.
func faultCluster(t *testing.T) *testserver.Kafka {
	k := testserver.StartKafka(t)
	if k.Cluster == nil {
		testserver.Unavailable(t, "needs kfake fault hooks")
	}
	return k
}

// orderedPipeline subscribes an order checker to topic and returns it with
// a publisher that has an outage buffer.
func orderedPipeline(t *testing.T, k *testserver.Kafka, topic string) (*mqtest.OrderChecker, *mq.Client) {
	t.Helper()
	oc := mqtest.NewOrderChecker()
	sub, err := open(t, k, quiet).Subscribe(context.Background(), topic, "g", oc.Handle, mq.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	pub := open(t, k, quiet, mq.WithOutageBuffer(t.TempDir()), mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 100 * time.Millisecond}))
	return oc, pub
}

// TestProduceFailuresThenDrain: produce requests fail for a while (the
// brokers answer NOT_ENOUGH_REPLICAS); the outage buffer holds what is
// published, then drains it in order once produce works again.
func TestProduceFailuresThenDrain(t *testing.T) {
	t.Parallel() // see TestConformance
	k, topic := faultCluster(t), "produce-faults"
	oc, pub := orderedPipeline(t, k, topic)
	fault := k.Cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
	const keys, perKey = 8, 25
	mqtest.PublishSequenced(t, pub, topic, keys, perKey)
	if pub.Buffered() == 0 {
		t.Fatal("nothing was buffered while produce failed")
	}
	fault.Remove()
	waitFor(t, "every message in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	t.Logf("%d produce requests failed", fault.Hits())
}

// TestBrokerLeavesAndReplacementJoins: the leader of a partition leaves
// the cluster while messages flow (its partitions move to the others),
// then a new broker joins; nothing is lost and per-key order holds.
//
// The same node rejoining (kfake AddNode with its old ID and port) is not
// staged: with kfake it leaves even a bare kgo producer timing out, with
// no Groundwork code involved.
func TestBrokerLeavesAndReplacementJoins(t *testing.T) {
	k, topic := faultCluster(t), "broker-churn"
	oc, pub := orderedPipeline(t, k, topic)
	const keys, rounds = 10, 60
	round := 0
	publishUntil := func(end int) {
		for ; round < end; round++ {
			var batch []*mq.Message
			for key := range keys {
				batch = append(batch, &mq.Message{Topic: topic, Key: "key-" + strconv.Itoa(key), Payload: []byte(strconv.Itoa(round))})
			}
			if err := pub.Publish(context.Background(), batch...); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	publishUntil(20)
	if err := k.Cluster.RemoveNode(k.Cluster.LeaderFor(topic, 0)); err != nil {
		t.Fatal(err)
	}
	publishUntil(40)
	if _, _, err := k.Cluster.AddNode(-1, 0); err != nil {
		t.Fatal(err)
	}
	publishUntil(rounds)
	waitFor(t, "every message in order", func() bool { return oc.Done(keys * rounds) })
	oc.Check(t)
}

// TestMemberLeavesMidBatch: one of two members closes while the group is
// working through a backlog; its partitions move to the other after its
// in-flight records are committed, so nothing is lost and order holds.
func TestMemberLeavesMidBatch(t *testing.T) {
	k := testserver.StartKafka(t)
	topic := "member-leaves"
	oc := mqtest.NewOrderChecker()
	leaver := open(t, k, quiet)
	sub1, err := leaver.Subscribe(context.Background(), topic, "g", oc.Handle, mq.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	sub2, err := open(t, k, quiet).Subscribe(context.Background(), topic, "g", oc.Handle, mq.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	const keys, perKey = 50, 60
	mqtest.PublishSequenced(t, open(t, k, quiet), topic, keys, perKey)
	waitFor(t, "a part of the backlog", func() bool { return oc.Handled() > keys*perKey/5 })
	if err := sub1.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
}

func receiveN(t *testing.T, r driver.Receiver, n int) []*driver.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []*driver.Delivery
	for len(out) < n {
		dels, err := r.Receive(ctx, n-len(out))
		if err != nil {
			t.Fatalf("after %d of %d deliveries: %v", len(out), n, err)
		}
		out = append(out, dels...)
	}
	return out
}

// TestRebalanceWithSlowHandlers: with slow handlers and a deep prefetch, a
// member joining makes the others give up partitions whose queued records
// would take far longer than the rebalance timeout to handle. The revoke
// hands those back and waits only for running handlers, so the rebalance
// completes in time and no key ever runs on two members at once or out of
// order (waiting for the whole prefetch got the member evicted while it
// still handled, and the next owner started on the same keys).
func TestRebalanceWithSlowHandlers(t *testing.T) {
	k := testserver.StartKafka(t)
	url := "kafka://" + strings.Join(k.Brokers, ",") +
		"?partitions=6&session_timeout=3s&heartbeat_interval=100ms&rebalance_timeout=2s&commit_interval=100ms"
	open := func() *mq.Client {
		c, err := mq.Open(context.Background(), url, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const topic = "slow"
	oc := mqtest.NewOrderChecker()
	oc.Pause = 10 * time.Millisecond
	opts := []mq.SubscribeOption{mq.WithConcurrency(2), mq.WithPrefetch(2000)}
	var members []*mq.Subscription
	join := func() {
		sub, err := open().Subscribe(context.Background(), topic, "g", oc.Handle, opts...)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, sub)
	}
	join()
	const keys, perKey = 30, 40
	mqtest.PublishSequenced(t, open(), topic, keys, perKey)
	// 1,200 records at 10ms over 2 workers: about 6s for one member, 3x
	// the rebalance timeout, and most of it prefetched.
	waitFor(t, "the first member to start", func() bool { return oc.Handled() >= 20 })
	join()
	waitFor(t, "the second member to start", func() bool { return oc.Handled() >= 200 || oc.Done(-1) })
	join()
	waitFor(t, "every record in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	for _, m := range members {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}
}
