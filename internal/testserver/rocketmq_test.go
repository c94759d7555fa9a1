//go:build !race

// Drives rocketmq-client-go, which has data races of its own (see
// mq/rocketmq/doc.go # Tests): built without -race only; scripts/test runs
// it in its RocketMQ step. The double's own code is race-checked by the
// raw-protocol tests (rocketmq_conn_test.go, rocketmq_fuzz_test.go).

package testserver

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// The client logs every rebalance and reconnect through logrus; keep
// test output readable.
func init() { rlog.SetLogLevel("error") }

var instanceSeq atomic.Int64

// instance returns a client instance name unique in this process: the
// client shares one connection set per instance name, and tests must not
// share clients.
func instance(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), instanceSeq.Add(1))
}

func newProducer(t *testing.T, r *RocketMQ, opts ...producer.Option) rmq.Producer {
	t.Helper()
	inst := instance(t)
	opts = append([]producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{r.NameServer()})),
		producer.WithGroupName("pg_" + inst),
		producer.WithInstanceName(inst),
		producer.WithRetry(2),
	}, opts...)
	p, err := rmq.NewProducer(opts...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

// received collects what a push consumer got, in arrival order.
type received struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
	ch   chan struct{}
}

func newReceived() *received { return &received{ch: make(chan struct{}, 1)} }

func (r *received) add(msgs ...*primitive.MessageExt) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *received) snapshot() []*primitive.MessageExt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*primitive.MessageExt(nil), r.msgs...)
}

// waitFor waits until cond holds over what was received.
func (r *received) waitFor(t *testing.T, what string, cond func([]*primitive.MessageExt) bool) []*primitive.MessageExt {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		if s := r.snapshot(); cond(s) {
			return s
		}
		select {
		case <-r.ch:
		case <-deadline.C:
			t.Fatalf("gave up after %v waiting for %s; got %d messages", patience, what, len(r.snapshot()))
		}
	}
}

// waitForNone waits until missing reports nothing and fails t naming
// what it still reported when patience ran out.
func (r *received) waitForNone(t *testing.T, what string, missing func() []string) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		m := missing()
		if len(m) == 0 {
			return
		}
		select {
		case <-r.ch:
		case <-deadline.C:
			t.Fatalf("gave up after %v waiting for %s; missing %v", patience, what, m)
		}
	}
}

// testConsumer is a started push consumer and its instance name.
type testConsumer struct {
	rmq.PushConsumer
	inst string
}

func newPushConsumer(t *testing.T, r *RocketMQ, group, topic string, f func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) *testConsumer {
	t.Helper()
	inst := instance(t)
	opts = append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{r.NameServer()})),
		consumer.WithGroupName(group),
		consumer.WithInstance(inst),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	c, err := rmq.NewPushConsumer(opts...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{}, f); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer: %v", err)
	}
	t.Cleanup(func() { settle(t, r, inst); c.Shutdown() })
	return &testConsumer{c, inst}
}

// settle waits until the consumer of instance inst has no rebalance in
// flight: rocketmq-client-go writes its closed flag in Shutdown without
// synchronisation while a rebalance reads it (a data race in the client,
// which -race reports), so tests shut a consumer down only once its
// rebalances are done.
func settle(t *testing.T, r *RocketMQ, inst string) {
	t.Helper()
	WaitFor(t, patience, "the consumer's rebalances to finish", func() bool { return r.rebalancesSettled("@" + inst) })
}

func TestRocketMQSendAndPushConsume(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r)
	ctx := context.Background()
	const n = 20
	want := map[string]*primitive.Message{}
	for i := range n {
		m := primitive.NewMessage("orders", []byte(fmt.Sprintf("body-%d \x00\xff", i)))
		m.WithTag(fmt.Sprintf("tag%d", i%3))
		m.WithKeys([]string{fmt.Sprintf("k%d", i), "shared key"})
		m.WithProperty("user-prop", fmt.Sprintf("v=%d;ünïcode", i))
		res, err := p.SendSync(ctx, m)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if res.Status != primitive.SendOK || res.MsgID == "" || res.OffsetMsgID == "" {
			t.Fatalf("send %d: result %v", i, res)
		}
		want[string(m.Body)] = m
	}

	got := newReceived()
	newPushConsumer(t, r, "g1", "orders", func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		got.add(msgs...)
		return consumer.ConsumeSuccess, nil
	})
	msgs := got.waitFor(t, "every message", func(m []*primitive.MessageExt) bool { return len(m) >= n })
	seen := map[string]bool{}
	queues := map[int]bool{}
	for _, m := range msgs {
		w := want[string(m.Body)]
		if w == nil {
			t.Fatalf("unexpected body %q", m.Body)
		}
		if seen[string(m.Body)] {
			t.Errorf("duplicate %q", m.Body)
		}
		seen[string(m.Body)] = true
		queues[m.Queue.QueueId] = true
		if m.Topic != "orders" || m.GetTags() != w.GetTags() || m.GetKeys() != w.GetKeys() ||
			m.GetProperty("user-prop") != w.GetProperty("user-prop") ||
			m.MsgId != w.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex) {
			t.Errorf("message %q came back as topic %q tags %q keys %q prop %q id %q", m.Body, m.Topic,
				m.GetTags(), m.GetKeys(), m.GetProperty("user-prop"), m.MsgId)
		}
		if m.StoreTimestamp == 0 || m.BornTimestamp == 0 || m.StoreHost != r.BrokerAddr() || m.BornHost == "" {
			t.Errorf("message %q: store %d born %d store host %q born host %q", m.Body, m.StoreTimestamp, m.BornTimestamp, m.StoreHost, m.BornHost)
		}
	}
	if len(queues) < 2 {
		t.Errorf("messages used %d queues, want several", len(queues))
	}
}

// sendTo sends body to queue q of topic and fails t on error.
func sendTo(t *testing.T, p rmq.Producer, topic string, q int, body string) {
	t.Helper()
	m := primitive.NewMessage(topic, []byte(body))
	m.Queue = &primitive.MessageQueue{Topic: topic, BrokerName: rmqBrokerName, QueueId: q}
	if _, err := p.SendSync(context.Background(), m); err != nil {
		t.Fatalf("send %q to queue %d: %v", body, q, err)
	}
}

// byBody indexes received messages by body.
func byBody(msgs []*primitive.MessageExt) map[string]*primitive.MessageExt {
	out := map[string]*primitive.MessageExt{}
	for _, m := range msgs {
		out[string(m.Body)] = m
	}
	return out
}

func TestRocketMQGroupSplitsQueuesAndHandsOverOnLeave(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	const topic, group, queues = "jobs", "workers", 4
	var sent []string
	round := func(tag string) []string {
		var bodies []string
		for q := range queues {
			b := fmt.Sprintf("%s-q%d", tag, q)
			sendTo(t, p, topic, q, b)
			bodies = append(bodies, b)
		}
		sent = append(sent, bodies...)
		return bodies
	}
	round("before")

	a, b := newReceived(), newReceived()
	handler := func(rc *received) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		return func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			rc.add(msgs...)
			return consumer.ConsumeSuccess, nil
		}
	}
	ca := newPushConsumer(t, r, group, topic, handler(a))
	a.waitFor(t, "A to consume the first round", func(m []*primitive.MessageExt) bool { return len(byBody(m)) >= queues })
	// B holds messages of A's queues, once it takes them over, until the
	// test has read A's committed offsets: B's pulls then carry no
	// offset of its own past A's.
	var held atomic.Pointer[map[int]bool]
	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	newPushConsumer(t, r, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		b.add(msgs...)
		if h := held.Load(); h != nil {
			for _, m := range msgs {
				if (*h)[m.Queue.QueueId] {
					<-release
					break
				}
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	WaitFor(t, patience, "two members in the group", func() bool { return len(r.ConsumerGroupMembers(group)) == 2 })

	// Rounds of one message per queue until a round is split evenly: the
	// client's AllocateByAveragely gives each of two members half of the
	// queues. A round split any other way (say 3 and 1) was sent while a
	// rebalance was moving a queue — the member losing it still pulling
	// it — and such a queue is not A's: B goes on consuming it.
	var aQueues map[int]bool
	for i := 0; aQueues == nil; i++ {
		bodies := round(fmt.Sprintf("split%d", i))
		both := func() bool {
			got := byBody(append(a.snapshot(), b.snapshot()...))
			for _, x := range bodies {
				if got[x] == nil {
					return false
				}
			}
			return true
		}
		WaitFor(t, patience, "round "+bodies[0], both)
		am, bm := byBody(a.snapshot()), byBody(b.snapshot())
		qa, qb := map[int]bool{}, map[int]bool{}
		for q, x := range bodies {
			if am[x] != nil {
				qa[q] = true
			}
			if bm[x] != nil {
				qb[q] = true
			}
		}
		if len(qa) == queues/2 && len(qb) == queues/2 && len(qa)+len(qb) == queues {
			aQueues = qa
		}
		if i > 100 {
			t.Fatalf("the group never split the queues: A %v, B %v", qa, qb)
		}
	}
	held.Store(&aQueues)
	bSeen := len(b.snapshot())
	settle(t, r, ca.inst)
	if err := ca.Shutdown(); err != nil {
		t.Fatalf("shut A down: %v", err)
	}
	WaitFor(t, patience, "A to leave the group", func() bool { return len(r.ConsumerGroupMembers(group)) == 1 })
	// What the group holds for A's queues now that A's connection is gone
	// (the broker applied everything A sent before it). B resumes there.
	// A's Shutdown does not promise to have committed all it consumed:
	// rocketmq-client-go updates a queue's offset only after the handler
	// returns, and its persist of one queue (on a rebalance) deletes the
	// other queues' offsets from its table (remoteBrokerOffsetStore.persist),
	// so Shutdown may commit nothing. With no commit the broker answers 0
	// (the queue's first offset; the group consumes from the first).
	committed := map[int]int64{}
	for q := range aQueues {
		committed[q], _ = r.CommittedOffset(group, topic, q)
	}
	releaseOnce.Do(func() { close(release) })
	after := round("after")
	rounds := int64(len(sent) / queues) // so each queue's offsets are 0..rounds-1
	b.waitFor(t, "B to take over every queue", func(m []*primitive.MessageExt) bool {
		got := byBody(m)
		for _, x := range after {
			if got[x] == nil {
				return false
			}
		}
		return true
	})

	all := byBody(append(a.snapshot(), b.snapshot()...))
	for _, x := range sent {
		if all[x] == nil {
			t.Errorf("message %q was lost", x)
		}
	}
	// The committed offset never passes a message A did not consume.
	byA := map[int]map[int64]bool{}
	for _, m := range a.snapshot() {
		if byA[m.Queue.QueueId] == nil {
			byA[m.Queue.QueueId] = map[int64]bool{}
		}
		byA[m.Queue.QueueId][m.QueueOffset] = true
	}
	for q, c := range committed {
		for off := range c {
			if !byA[q][off] {
				t.Errorf("the group's offset %d of queue %d passes offset %d, which A never consumed", c, q, off)
			}
		}
	}
	// B resumes each of A's queues exactly at the committed offset and
	// consumes every offset from there on: none skipped, none before it
	// (the messages A consumed after its last commit come again, which
	// at-least-once allows). B consumes a pull's messages concurrently, so
	// wait for all of them before looking at the lowest.
	bOffsets := func() map[int]map[int64]bool {
		out := map[int]map[int64]bool{}
		for _, m := range b.snapshot()[bSeen:] {
			if q := m.Queue.QueueId; aQueues[q] {
				if out[q] == nil {
					out[q] = map[int64]bool{}
				}
				out[q][m.QueueOffset] = true
			}
		}
		return out
	}
	missing := func() []string {
		var out []string
		got := bOffsets()
		for q, c := range committed {
			for off := c; off < rounds; off++ {
				if !got[q][off] {
					out = append(out, fmt.Sprintf("queue %d offset %d", q, off))
				}
			}
		}
		slices.Sort(out)
		return out
	}
	b.waitForNone(t, "B to consume A's queues from the committed offsets on", missing)
	for q, offs := range bOffsets() {
		if lowest := slices.Min(slices.Collect(maps.Keys(offs))); lowest != committed[q] {
			t.Errorf("B resumed queue %d at offset %d, the group had committed %d", q, lowest, committed[q])
		}
	}
}

func TestRocketMQRetryLaterComesBackThroughRetryTopic(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r)
	m := primitive.NewMessage("payments", []byte("pay-1"))
	m.WithKeys([]string{"order-1"})
	m.WithTag("card")
	if _, err := p.SendSync(context.Background(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := newReceived()
	var failed atomic.Bool
	newPushConsumer(t, r, "billing", "payments", func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		got.add(msgs...)
		if !failed.Swap(true) {
			return consumer.ConsumeRetryLater, nil
		}
		return consumer.ConsumeSuccess, nil
	})
	msgs := got.waitFor(t, "the redelivery", func(m []*primitive.MessageExt) bool { return len(m) >= 2 })
	first, again := msgs[0], msgs[1]
	if first.ReconsumeTimes != 0 || again.ReconsumeTimes != 1 {
		t.Errorf("reconsume times %d then %d, want 0 then 1", first.ReconsumeTimes, again.ReconsumeTimes)
	}
	if string(again.Body) != "pay-1" || again.Topic != "payments" || again.GetKeys() != "order-1" || again.GetTags() != "card" {
		t.Errorf("redelivered as body %q topic %q keys %q tags %q", again.Body, again.Topic, again.GetKeys(), again.GetTags())
	}
	if again.GetProperty(primitive.PropertyRetryTopic) != "payments" || again.MsgId != first.MsgId {
		t.Errorf("redelivery RETRY_TOPIC %q id %q, want payments and %q", again.GetProperty(primitive.PropertyRetryTopic), again.MsgId, first.MsgId)
	}
	if s := r.Stored("%RETRY%billing"); len(s) != 1 || s[0].ReconsumeTimes != 1 {
		t.Errorf("retry topic holds %+v, want the one message with reconsume times 1", s)
	}
}

func TestRocketMQDeadLetterAfterMaxReconsumeTimes(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r)
	if _, err := p.SendSync(context.Background(), primitive.NewMessage("poison", []byte("bad"))); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := newReceived()
	newPushConsumer(t, r, "eaters", "poison", func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		got.add(msgs...)
		return consumer.ConsumeRetryLater, nil
	}, consumer.WithMaxReconsumeTimes(2))
	got.waitFor(t, "three attempts", func(m []*primitive.MessageExt) bool { return len(m) >= 3 })
	WaitFor(t, patience, "the message in the DLQ", func() bool { return len(r.Stored("%DLQ%eaters")) == 1 })
	d := r.Stored("%DLQ%eaters")[0]
	if string(d.Body) != "bad" || d.ReconsumeTimes != 3 || d.Properties["RETRY_TOPIC"] != "poison" {
		t.Errorf("dead letter %+v", d)
	}
	if n := len(got.snapshot()); n != 3 {
		t.Errorf("%d attempts, want 3 (first + 2 reconsumes)", n)
	}
}

func TestRocketMQOutageFailsSendsUntilRestored(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r, producer.WithSendMsgTimeout(2*time.Second))
	ctx := context.Background()
	if _, err := p.SendSync(ctx, primitive.NewMessage("events", []byte("one"))); err != nil {
		t.Fatalf("send before outage: %v", err)
	}
	restore := r.Outage(t)
	_, err := p.SendSync(ctx, primitive.NewMessage("events", []byte("two")))
	if err == nil || !strings.Contains(err.Error(), "connect") && !strings.Contains(err.Error(), "refused") {
		t.Fatalf("send during outage: %v, want a connection error", err)
	}
	restore()
	if _, err := p.SendSync(ctx, primitive.NewMessage("events", []byte("three"))); err != nil {
		t.Fatalf("send after restore: %v", err)
	}
	var bodies []string
	for _, s := range r.Stored("events") {
		bodies = append(bodies, string(s.Body))
	}
	if len(bodies) != 2 {
		t.Errorf("stored %q, want one and three", bodies)
	}
}

func TestRocketMQFailNext(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r, producer.WithRetry(0))
	ctx := context.Background()
	if _, err := p.SendSync(ctx, primitive.NewMessage("f", []byte("warm-up"))); err != nil {
		t.Fatalf("send: %v", err)
	}
	r.FailNext(10, 1)
	if _, err := p.SendSync(ctx, primitive.NewMessage("f", []byte("x"))); err == nil || !strings.Contains(err.Error(), "CODE: 1,") {
		t.Fatalf("send after FailNext: %v, want CODE: 1", err)
	}
	if _, err := p.SendSync(ctx, primitive.NewMessage("f", []byte("y"))); err != nil {
		t.Fatalf("the failure outlived its count: %v", err)
	}
	r.FailNextWith(10, 1, rmqMessageIllegal)
	retrying := newProducer(t, r)
	if _, err := retrying.SendSync(ctx, primitive.NewMessage("f", []byte("z"))); err == nil || !strings.Contains(err.Error(), "CODE: 13,") {
		t.Fatalf("send after FailNextWith 13: %v, want CODE: 13 (not retried)", err)
	}
}

func TestRocketMQRefusesOversizedMessage(t *testing.T) {
	r := startRmqDouble(t, RocketMQMaxMessageBytes(64<<10))
	p := newProducer(t, r, producer.WithCompressMsgBodyOverHowmuch(1<<30))
	big := make([]byte, 65<<10)
	_, err := p.SendSync(context.Background(), primitive.NewMessage("big", big))
	if err == nil || !strings.Contains(err.Error(), "CODE: 13,") {
		t.Fatalf("oversized send: %v, want CODE: 13 MESSAGE_ILLEGAL", err)
	}
	if _, err := p.SendSync(context.Background(), primitive.NewMessage("big", big[:60<<10])); err != nil {
		t.Fatalf("send under the limit: %v", err)
	}
}

func TestRocketMQBatchSend(t *testing.T) {
	r := startRmqDouble(t)
	p := newProducer(t, r)
	var batch []*primitive.Message
	for i := range 5 {
		m := primitive.NewMessage("batched", []byte(fmt.Sprintf("b%d", i)))
		m.WithProperty("i", fmt.Sprint(i))
		batch = append(batch, m)
	}
	res, err := p.SendSync(context.Background(), batch...)
	if err != nil || res.Status != primitive.SendOK {
		t.Fatalf("batch send: %v %v", res, err)
	}
	got := newReceived()
	newPushConsumer(t, r, "bg", "batched", func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		got.add(msgs...)
		return consumer.ConsumeSuccess, nil
	})
	msgs := got.waitFor(t, "the batch", func(m []*primitive.MessageExt) bool { return len(m) >= 5 })
	slices.SortFunc(msgs, func(a, b *primitive.MessageExt) int { return cmp.Compare(a.QueueOffset, b.QueueOffset) })
	for i, m := range msgs {
		if string(m.Body) != fmt.Sprintf("b%d", i) || m.GetProperty("i") != fmt.Sprint(i) || m.QueueOffset != int64(i) {
			t.Errorf("message %d: body %q prop %q offset %d", i, m.Body, m.GetProperty("i"), m.QueueOffset)
		}
	}
}

func rmqTestMessage(body string) *primitive.Message {
	return primitive.NewMessage("misc", []byte(body))
}

func TestRocketMQBadFramesDoNotBreakTheDouble(t *testing.T) {
	r := startRmqDouble(t)
	for _, addr := range []string{r.NameServer(), r.BrokerAddr()} {
		for _, s := range rmqSeeds() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			nc.Write(s)
			nc.Write([]byte{0, 0, 0, 5, 9, 9, 9, 9, 9}) // then garbage
			io.Copy(io.Discard, nc)                     // the double hangs up
			nc.Close()
		}
	}
	p := newProducer(t, r)
	if _, err := p.SendSync(t.Context(), rmqTestMessage("after-garbage")); err != nil {
		t.Fatalf("send after bad frames: %v", err)
	}
}
