package mq_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/wal"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// collector gathers what a handler saw, by payload, in order.
type collector struct {
	mu   sync.Mutex
	msgs []*mq.Message
}

func (c *collector) handle(_ context.Context, m *mq.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *collector) payloads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		out = append(out, string(m.Payload))
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rig is a memmq broker, a reader subscribed to a topic and its
// dead-letter topic, and a publisher with an outage buffer in dir.
type rig struct {
	broker      *memmq.Broker
	pub         *mq.Client
	topic, dlq  collector
	dir         string
	meterReader *sdkmetric.ManualReader
}

const topicLimit = 64 // bytes: "poison…" payloads are over it

func newRig(t *testing.T, broker *memmq.Broker, dir string) *rig {
	t.Helper()
	r := &rig{broker: broker, dir: dir, meterReader: sdkmetric.NewManualReader()}
	broker.SetTopicMaxMessageBytes("t", topicLimit)
	reader, err := mq.NewClient(memmq.New(broker), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	for topic, c := range map[string]*collector{"t": &r.topic, "t.dlq": &r.dlq} {
		if _, err := reader.Subscribe(context.Background(), topic, "g", c.handle); err != nil {
			t.Fatal(err)
		}
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.meterReader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	r.pub, err = mq.NewClient(memmq.New(broker), mq.WithOutageBuffer(dir), quiet, mq.WithMeterProvider(mp),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.pub.Close() })
	return r
}

func msg(p string) *mq.Message { return &mq.Message{Topic: "t", Key: "k", Payload: []byte(p)} }

// poison is over topicLimit; good messages are under it.
func poison(n int) *mq.Message {
	return msg("poison-" + strconv.Itoa(n) + strings.Repeat(".", topicLimit))
}

// bufferAll publishes calls while the broker is unreachable, so that they
// all go to the outage buffer, then makes it reachable again.
func (r *rig) bufferAll(t *testing.T, calls ...[]*mq.Message) {
	t.Helper()
	r.broker.SetReachable(false)
	for _, call := range calls {
		if err := r.pub.Publish(context.Background(), call...); err != nil {
			t.Fatal(err)
		}
	}
	r.broker.SetReachable(true)
}

func (r *rig) metrics(t *testing.T) map[string]int64 {
	t.Helper()
	return otelcheck.Totals(t, r.meterReader, func(p otelcheck.Point) string {
		switch p.Kind {
		case otelcheck.Sum:
			return p.Metric + "/" + p.Attr("outcome")
		case otelcheck.Gauge:
			return p.Metric
		}
		return ""
	})
}

// TestRefusedBatchIsSplitDown: buffered calls holding messages the broker
// refuses for good (two in one call, one alone) are split down until only
// those are left; they go to the dead-letter topic with the broker's error,
// the others arrive in order, and the buffer drains.
func TestRefusedBatchIsSplitDown(t *testing.T) {
	r := newRig(t, memmq.NewBroker(nil), t.TempDir())
	var first []*mq.Message
	for i := range 20 {
		first = append(first, msg(strconv.Itoa(i)))
		if i == 6 || i == 13 {
			first = append(first, poison(i))
		}
	}
	r.bufferAll(t, first, []*mq.Message{poison(99)}, []*mq.Message{msg("20"), msg("21")})
	waitUntil(t, "the buffer to drain", func() bool { return r.pub.Buffered() == 0 })
	waitUntil(t, "22 good messages and 3 dead letters", func() bool {
		return len(r.topic.payloads()) == 22 && len(r.dlq.payloads()) == 3
	})
	for i, p := range r.topic.payloads() {
		if p != strconv.Itoa(i) {
			t.Fatalf("message %d on the topic is %q: order lost or a poison got through", i, p)
		}
	}
	r.dlq.mu.Lock()
	for i, m := range r.dlq.msgs {
		want := []string{"poison-6", "poison-13", "poison-99"}[i]
		if !strings.HasPrefix(string(m.Payload), want) || m.Headers[mq.HeaderDLQTopic] != "t" ||
			!strings.Contains(m.Headers[mq.HeaderDLQError], "over the limit") {
			t.Errorf("dead letter %d: payload %.12q headers %v, want %s with the topic and the broker's error", i, m.Payload, m.Headers, want)
		}
		if _, ok := m.Headers[mq.HeaderDLQGroup]; ok {
			t.Errorf("dead letter %d names a group, though no consumer gave up on it", i)
		}
	}
	r.dlq.mu.Unlock()
	if got := r.metrics(t); got["mq.outage_buffer.refused/dead_letter"] != 3 || got["mq.outage_buffer.refused/quarantined"] != 0 {
		t.Fatalf("metrics %v: want 3 dead-lettered, none quarantined", got)
	}
}

// TestQuarantineListAndRedrive: when the dead-letter topic refuses a
// message too, it goes to the quarantine (listed, counted, the buffer
// draining past it); once the broker takes it, RedriveQuarantined sends it
// and empties the quarantine, and a message refused again stays.
func TestQuarantineListAndRedrive(t *testing.T) {
	r := newRig(t, memmq.NewBroker(nil), t.TempDir())
	r.broker.SetTopicMaxMessageBytes("t.dlq", topicLimit)
	r.bufferAll(t, []*mq.Message{msg("0"), poison(1), msg("2")}, []*mq.Message{poison(3)})
	waitUntil(t, "the buffer to drain", func() bool { return r.pub.Buffered() == 0 })
	waitUntil(t, "the good messages", func() bool { return len(r.topic.payloads()) == 2 })
	q, err := r.pub.Quarantined(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 {
		t.Fatalf("%d quarantined, want 2", len(q))
	}
	for i, e := range q {
		if e.Message == nil || !strings.HasPrefix(string(e.Message.Payload), "poison-"+[]string{"1", "3"}[i]) ||
			e.Message.Topic != "t" || e.Message.ID == "" || e.Time.IsZero() ||
			!strings.Contains(e.Reason, "over the limit") || !strings.Contains(e.Reason, "t.dlq") {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if got := r.metrics(t); got["mq.outage_buffer.refused/quarantined"] != 2 || got["mq.outage_buffer.quarantined"] != 2 {
		t.Fatalf("metrics %v: want 2 quarantined, 2 held", got)
	}
	if len(r.dlq.payloads()) != 0 {
		t.Fatal("the dead-letter topic took a message it refuses")
	}

	// Still refused: both stay, in order, with the new reason.
	sent, err := r.pub.RedriveQuarantined(context.Background())
	if err != nil || sent != 0 {
		t.Fatalf("redrive while refused: %d sent, %v", sent, err)
	}
	if again, _ := r.pub.Quarantined(context.Background()); len(again) != 2 || again[0].Message.ID != q[0].Message.ID ||
		!strings.Contains(again[0].Reason, "over the limit") {
		t.Fatalf("after a refused redrive: %+v", again)
	}

	r.broker.SetTopicMaxMessageBytes("t", 0)
	sent, err = r.pub.RedriveQuarantined(context.Background())
	if err != nil || sent != 2 {
		t.Fatalf("redrive: %d sent, %v", sent, err)
	}
	waitUntil(t, "the redriven messages", func() bool { return len(r.topic.payloads()) == 4 })
	if left, _ := r.pub.Quarantined(context.Background()); len(left) != 0 {
		t.Fatalf("%d left in the quarantine after a redrive", len(left))
	}
	if got := r.metrics(t); got["mq.outage_buffer.quarantined"] != 0 {
		t.Fatalf("metrics %v: quarantine gauge not back to 0", got)
	}
}

// TestCrashBetweenQuarantineAndAck: the process dies after a message is in
// the quarantine and before its buffer record is acknowledged (simulated
// by freezing the flusher there and copying the directory, which then
// holds what a crash leaves). A Client opened on the copy quarantines it
// again — at least once, never lost — and sends everything else.
func TestCrashBetweenQuarantineAndAck(t *testing.T) {
	frozen, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	mq.SetTestHookQuarantined(func() {
		once.Do(func() { close(frozen); <-release })
	})
	defer mq.SetTestHookQuarantined(nil)
	dir := t.TempDir()
	r := newRig(t, memmq.NewBroker(nil), dir)
	var unfreeze sync.Once
	thaw := func() { unfreeze.Do(func() { close(release) }) }
	t.Cleanup(thaw) // before the Client's Close, which waits for the flusher
	r.broker.SetTopicMaxMessageBytes("t.dlq", topicLimit)
	r.bufferAll(t, []*mq.Message{msg("0"), poison(1)}, []*mq.Message{msg("2")})
	select {
	case <-frozen:
	case <-time.After(time.Minute):
		t.Fatal("the poison never reached the quarantine")
	}
	crashed := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	thaw()
	mq.SetTestHookQuarantined(nil)

	after := newRig(t, memmq.NewBroker(nil), crashed)
	after.broker.SetTopicMaxMessageBytes("t.dlq", topicLimit)
	waitUntil(t, "the buffer copy to drain", func() bool { return after.pub.Buffered() == 0 })
	waitUntil(t, "message 2 after the crash", func() bool {
		p := after.topic.payloads()
		return len(p) > 0 && p[len(p)-1] == "2"
	})
	q, err := after.pub.Quarantined(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, e := range q {
		if e.Message == nil {
			t.Fatalf("damaged entry after the crash: %+v", e)
		}
		ids[e.Message.ID]++
	}
	if len(ids) != 1 || len(q) < 1 || len(q) > 2 {
		t.Fatalf("quarantine after the crash holds %d entries of %d messages; want the poison, once or twice", len(q), len(ids))
	}
	t.Logf("the poison is in the quarantine %d times after the crash (at-least-once)", len(q))
}

// TestDamagedRecordsHoldUpNothing: a buffered record that does not decode
// is kept, as bytes, in the quarantine and the records after it are sent;
// a quarantine entry that does not decode is listed with its bytes, and a
// redrive passes over it to the entries after it.
func TestDamagedRecordsHoldUpNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := wal.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("not a batch")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	q, err := wal.Open(filepath.Join(dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Append([]byte("not an entry")); err != nil {
		t.Fatal(err)
	}
	q.Close()

	broker := memmq.NewBroker(nil)
	r := newRig(t, broker, dir)
	r.broker.SetTopicMaxMessageBytes("t.dlq", topicLimit)
	r.bufferAll(t, []*mq.Message{msg("0"), poison(1)}, []*mq.Message{msg("2")})
	waitUntil(t, "the buffer to drain past the damaged record", func() bool { return r.pub.Buffered() == 0 })
	waitUntil(t, "the good messages", func() bool { return len(r.topic.payloads()) == 2 })
	entries, err := r.pub.Quarantined(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Message != nil || string(entries[0].Raw) != "not an entry" ||
		entries[1].Message != nil || string(entries[1].Raw) != "not a batch" || entries[2].Message == nil {
		t.Fatalf("quarantine: %+v; want the damaged entry, the damaged record's bytes, the poison", entries)
	}
	for _, e := range entries[:2] {
		if !strings.Contains(e.Reason, "does not decode") {
			t.Errorf("reason %q does not say the bytes do not decode", e.Reason)
		}
	}
	r.broker.SetTopicMaxMessageBytes("t", 0)
	sent, err := r.pub.RedriveQuarantined(context.Background())
	if err != nil || sent != 1 {
		t.Fatalf("redrive past two damaged entries: %d sent, %v", sent, err)
	}
	waitUntil(t, "the redriven poison", func() bool { return len(r.topic.payloads()) == 3 })
	if left, _ := r.pub.Quarantined(context.Background()); len(left) != 2 || !bytes.Equal(left[0].Raw, []byte("not an entry")) {
		t.Fatalf("after the redrive: %+v; want the two damaged entries kept", left)
	}
}

// TestQuarantineWithoutBufferAndAfterClose: without an outage buffer
// there is no quarantine; after Close the calls say so.
func TestQuarantineWithoutBufferAndAfterClose(t *testing.T) {
	c, err := mq.NewClient(memmq.New(memmq.NewBroker(nil)), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := c.Quarantined(context.Background()); err != nil || len(q) != 0 {
		t.Fatalf("without a buffer: %v, %v", q, err)
	}
	if n, err := c.RedriveQuarantined(context.Background()); err != nil || n != 0 {
		t.Fatalf("without a buffer: %d, %v", n, err)
	}
	c.Close()
	if _, err := c.Quarantined(context.Background()); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := c.RedriveQuarantined(context.Background()); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestDamagedBufferSegmentHoldsUpNothing: a byte flipped in a sealed
// segment of the buffer (on disk while no Client ran) makes the records
// from there to the segment's end unreadable. The next Client keeps their
// bytes in the quarantine, gives them up, and sends everything else.
func TestDamagedBufferSegmentHoldsUpNothing(t *testing.T) {
	dir := t.TempDir()
	broker := memmq.NewBroker(nil)
	// A 64 KiB cap makes 8 KiB segments: 1 KiB messages fill several.
	first, err := mq.NewClient(memmq.New(broker), mq.WithOutageBuffer(dir), mq.WithOutageBufferMaxBytes(64<<10), quiet)
	if err != nil {
		t.Fatal(err)
	}
	broker.SetReachable(false)
	const n = 30
	for i := range n {
		p := []byte("#" + strconv.Itoa(i) + ":" + strings.Repeat("x", 1<<10))
		if err := first.Publish(context.Background(), &mq.Message{Topic: "big", Key: "k", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	b, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	// In a run of payload, clear of the "#i:xxx" that tells messages apart.
	mid := len(b)/2 + bytes.Index(b[len(b)/2:], bytes.Repeat([]byte("x"), 16)) + 8
	b[mid] ^= 0xff
	if err := os.WriteFile(segs[1], b, 0o600); err != nil {
		t.Fatal(err)
	}

	broker.SetReachable(true)
	var arrived collector
	reader, err := mq.NewClient(memmq.New(broker), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, err := reader.Subscribe(context.Background(), "big", "g", arrived.handle); err != nil {
		t.Fatal(err)
	}
	pub, err := mq.NewClient(memmq.New(broker), mq.WithOutageBuffer(dir), mq.WithOutageBufferMaxBytes(64<<10), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	waitUntil(t, "the buffer to drain past the damage", func() bool { return pub.Buffered() == 0 })
	q, err := pub.Quarantined(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].Message != nil || !strings.Contains(q[0].Reason, "damaged") || len(q[0].Raw) == 0 {
		t.Fatalf("quarantine %+v: want one entry with the damaged bytes", q)
	}
	inRaw := func(i int) bool { return bytes.Contains(q[0].Raw, []byte("#"+strconv.Itoa(i)+":xxx")) }
	lost := 0
	for i := range n {
		if inRaw(i) {
			lost++
		}
	}
	if lost == 0 || lost == n {
		t.Fatalf("%d of %d messages in the quarantined bytes", lost, n)
	}
	waitUntil(t, "the messages outside the damage", func() bool { return len(arrived.payloads()) == n-lost })
	got := arrived.payloads()
	for i, next := 0, 0; i < n; i++ {
		if inRaw(i) {
			continue
		}
		if next >= len(got) || !strings.HasPrefix(got[next], "#"+strconv.Itoa(i)+":") {
			t.Fatalf("message %d is neither in the quarantined bytes nor next to arrive", i)
		}
		next++
	}
	t.Logf("%d of %d messages arrived; %d were in the damaged part, kept as bytes", len(got), n, lost)
}
