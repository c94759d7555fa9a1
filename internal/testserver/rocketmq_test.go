package testserver

import (
	"context"
	"fmt"
	"runtime"
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

// patience bounds every wait on the client: generous, since the client
// works on its own timers (rebalance every 20 s at worst).
const patience = 60 * time.Second

var instanceSeq atomic.Int64

// instance returns a client instance name unique in this process: the
// client shares one connection set per instance name, and tests must not
// share clients.
func instance(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), instanceSeq.Add(1))
}

// startRmqDouble starts a double and registers, before its own cleanup,
// a check that none of the double's goroutines outlive it (the client's
// own goroutines linger for seconds after Shutdown and are not ours to
// check; see noDoubleGoroutines).
func startRmqDouble(t *testing.T, opts ...RocketMQOption) *RocketMQ {
	t.Helper()
	t.Cleanup(func() { noDoubleGoroutines(t) })
	return StartRocketMQ(t, opts...)
}

// noDoubleGoroutines fails t if a goroutine running the double's code is
// left once the double has stopped. It looks for frames of this
// package's rocketmq code and switchListener in every goroutine's stack.
func noDoubleGoroutines(t *testing.T) {
	t.Helper()
	var left string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		left = ""
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "testserver.(*RocketMQ)") || strings.Contains(g, "testserver.(*rmqConn)") ||
				strings.Contains(g, "testserver.(*switchListener)") {
				left += g + "\n\n"
			}
		}
		if left == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines of the rocketmq double outlived it:\n%s", left)
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

func newPushConsumer(t *testing.T, r *RocketMQ, group, topic string, f func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) rmq.PushConsumer {
	t.Helper()
	opts = append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{r.NameServer()})),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance(t)),
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
	t.Cleanup(func() { c.Shutdown() })
	return c
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
