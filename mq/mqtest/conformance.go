package mqtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// RunConformanceTests runs the whole suite against h.
func RunConformanceTests(t *testing.T, h Harness) {
	if h.NewClient == nil {
		t.Fatal("mqtest: Harness.NewClient is nil")
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"FanOutAndLoadSharing", testFanOutAndLoadSharing},
		{"PerKeyOrder", testPerKeyOrder},
		{"RedeliveryAfterError", testRedelivery},
		{"PanicIsAnError", testPanic},
		{"DeadLetter", testDeadLetter},
		{"Permanent", testPermanent},
		{"RetryAfter", testRetryAfter},
		{"MemberDiesWithoutAck", testMemberDies},
		{"OutageWithBuffer", testOutageWithBuffer},
		{"RefusedInBuffer", testRefusedInBuffer},
		{"OutageWithoutBuffer", testOutageWithoutBuffer},
		{"OutageEveryCall", testOutageEveryCall},
		{"OpenReachability", testOpenReachability},
		{"Dedup", testDedup},
		{"DedupConcurrentDuplicates", testDedupConcurrentDuplicates},
		{"MembershipChurn", testMembershipChurn},
		{"CloseDrains", testCloseDrains},
		{"EphemeralGroup", testEphemeralGroup},
		{"BadInput", testBadInput},
		{"SubscriptionAs", testSubscriptionAs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var fastRedelivery = mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond})

// inbox records what a handler saw.
type inbox struct {
	mu   sync.Mutex
	msgs []*mq.Message
	ctxs []context.Context
}

func (in *inbox) handler(ctx context.Context, m *mq.Message) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.msgs = append(in.msgs, m)
	in.ctxs = append(in.ctxs, ctx)
	return nil
}

// deadLetters subscribes an inbox to topic's dead-letter topic through c,
// closed when the test ends.
func (h Harness) deadLetters(t *testing.T, c *mq.Client, topic string) *inbox {
	t.Helper()
	dead := new(inbox)
	sub, err := c.Subscribe(context.Background(), topic+".dlq", "dlq-readers", dead.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return dead
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

func (in *inbox) ids() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	ids := map[string]int{}
	for _, m := range in.msgs {
		ids[m.ID]++
	}
	return ids
}

func (in *inbox) byID(id string) (*mq.Message, context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, m := range in.msgs {
		if m.ID == id {
			return m, in.ctxs[i]
		}
	}
	return nil, nil
}

func testRoundTrip(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	var in inbox
	sub, err := c.Subscribe(context.Background(), topic, "g", in.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	msgs := []*mq.Message{
		{Topic: topic, Key: "empty"},
		{Topic: topic, Key: "binary", Payload: binary},
		{Topic: topic, ID: "caller-chosen-id", Key: "ключ-🔑", Payload: []byte("unicode headers"),
			Headers: map[string]string{"héader": "värde 值 🚀", "empty-value": "", "x-n": "1"}},
		{Topic: topic, Payload: []byte("no key")},
		{Topic: topic, Key: "big", Payload: big},
	}
	// A caller's span context must reach the handler's context.
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	for _, m := range msgs {
		if err := c.Publish(ctx, m); err != nil {
			t.Fatalf("publish %q: %v", m.Key, err)
		}
		if m.ID == "" || m.Time.IsZero() {
			t.Fatalf("Publish left ID %q / Time %v empty", m.ID, m.Time)
		}
	}
	h.waitFor(t, "all round-trip messages", func() bool { return len(in.ids()) == len(msgs) })
	for _, sent := range msgs {
		got, hctx := in.byID(sent.ID)
		if got == nil {
			t.Fatalf("message %s never arrived", sent.ID)
		}
		if got.Topic != topic || got.Key != sent.Key || !bytes.Equal(got.Payload, sent.Payload) {
			t.Errorf("message %s: topic %q key %q payload %d bytes; sent topic %q key %q payload %d bytes",
				sent.ID, got.Topic, got.Key, len(got.Payload), topic, sent.Key, len(sent.Payload))
		}
		for k, v := range sent.Headers {
			if gv, ok := got.Headers[k]; !ok || gv != v {
				t.Errorf("message %s: header %q = %q (present %v), want %q", sent.ID, k, gv, ok, v)
			}
		}
		if got.Headers["traceparent"] == "" {
			t.Errorf("message %s: no traceparent header", sent.ID)
		}
		if tid := trace.SpanContextFromContext(hctx).TraceID(); tid != sc.TraceID() {
			t.Errorf("message %s: handler trace ID %v, want %v", sent.ID, tid, sc.TraceID())
		}
		if got.Attempt != 1 {
			t.Errorf("message %s: Attempt %d, want 1", sent.ID, got.Attempt)
		}
		if d := got.Time.Sub(sent.Time); d > time.Second || d < -time.Second {
			t.Errorf("message %s: Time %v, published %v", sent.ID, got.Time, sent.Time)
		}
	}
	if sent := msgs[2].Headers; len(sent) != 3 {
		t.Errorf("Publish modified the caller's headers: %v", sent)
	}
}

func testFanOutAndLoadSharing(t *testing.T, h Harness) {
	topic := uniqueTopic(t)
	var solo, memberA, memberB inbox
	c1, c2, c3 := h.client(t), h.client(t), h.client(t)
	for _, s := range []struct {
		c     *mq.Client
		group string
		in    *inbox
	}{{c1, "solo", &solo}, {c2, "shared", &memberA}, {c3, "shared", &memberB}} {
		sub, err := s.c.Subscribe(context.Background(), topic, s.group, s.in.handler, h.subOpts(mq.WithConcurrency(4))...)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
	}
	const n = 400
	var sent []*mq.Message
	for i := range n {
		sent = append(sent, &mq.Message{Topic: topic, Key: "k" + strconv.Itoa(i%80), Payload: []byte(strconv.Itoa(i))})
	}
	if err := c1.Publish(context.Background(), sent...); err != nil {
		t.Fatal(err)
	}
	union := func() map[string]int {
		u := memberA.ids()
		for id, k := range memberB.ids() {
			u[id] += k
		}
		return u
	}
	h.waitFor(t, "every message in both groups", func() bool { return len(solo.ids()) == n && len(union()) == n })
	for _, m := range sent {
		if solo.ids()[m.ID] == 0 || union()[m.ID] == 0 {
			t.Fatalf("message %s missing from a group", m.ID)
		}
	}
	if memberA.len() == 0 || memberB.len() == 0 {
		t.Fatalf("no load sharing: member A handled %d, member B %d", memberA.len(), memberB.len())
	}
	if dup := memberA.len() + memberB.len() - n; dup > 0 {
		t.Logf("shared group saw %d redeliveries (at-least-once)", dup)
	}
}

// OrderChecker is a Handler that asserts per-key order and exclusivity
// over messages published by PublishSequenced: for each key, payloads must
// arrive counting up from 0 with no gap, never two at once; a payload at
// or below one already seen is a redelivery, counted but allowed.
type OrderChecker struct {
	// Pause holds each message this long inside the exclusivity window,
	// as a slow handler would; zero for none.
	Pause time.Duration

	mu       sync.Mutex
	next     map[string]int // next new sequence number expected per key
	running  map[string]*atomic.Int32
	handled  atomic.Int64
	dups     atomic.Int64
	failures []string
}

// NewOrderChecker returns an empty checker.
func NewOrderChecker() *OrderChecker {
	return &OrderChecker{next: map[string]int{}, running: map[string]*atomic.Int32{}}
}

func (oc *OrderChecker) fail(format string, args ...any) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if len(oc.failures) < 10 {
		oc.failures = append(oc.failures, fmt.Sprintf(format, args...))
	}
}

// Handle is the mq.Handler.
func (oc *OrderChecker) Handle(_ context.Context, m *mq.Message) error {
	seq, err := strconv.Atoi(string(m.Payload))
	if err != nil {
		oc.fail("bad payload %q", m.Payload)
		return nil
	}
	oc.mu.Lock()
	r, ok := oc.running[m.Key]
	if !ok {
		r = new(atomic.Int32)
		oc.running[m.Key] = r
	}
	oc.mu.Unlock()
	if r.Add(1) != 1 {
		oc.fail("key %s: two handlers at once", m.Key)
	}
	defer r.Add(-1)
	if oc.Pause > 0 {
		time.Sleep(oc.Pause)
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	switch want := oc.next[m.Key]; {
	case seq == want:
		oc.next[m.Key] = want + 1
		oc.handled.Add(1)
	case seq < want:
		oc.dups.Add(1) // a redelivery: at-least-once allows it
	default:
		if len(oc.failures) < 10 {
			oc.failures = append(oc.failures, fmt.Sprintf("key %s: got %d before %d", m.Key, seq, want))
		}
	}
	return nil
}

// Done reports whether want messages arrived in order, or the order is
// already broken (so a wait can end and Check report it).
func (oc *OrderChecker) Done(want int64) bool {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return oc.handled.Load() == want || len(oc.failures) > 0
}

// Handled returns how many messages arrived in order, redeliveries aside.
func (oc *OrderChecker) Handled() int64 { return oc.handled.Load() }

// Redelivered returns how many redeliveries arrived.
func (oc *OrderChecker) Redelivered() int64 { return oc.dups.Load() }

// Check fails t with every order violation seen and logs redeliveries.
func (oc *OrderChecker) Check(t testing.TB) {
	t.Helper()
	oc.mu.Lock()
	defer oc.mu.Unlock()
	for _, f := range oc.failures {
		t.Error(f)
	}
	if d := oc.dups.Load(); d > 0 {
		t.Logf("%d redeliveries (at-least-once)", d)
	}
}

// PublishSequenced publishes perKey messages on each of keys keys
// ("key-0"...), payloads counting up per key from 0, in batches of 100.
func PublishSequenced(t testing.TB, c *mq.Client, topic string, keys, perKey int) {
	t.Helper()
	var batch []*mq.Message
	for i := range perKey {
		for k := range keys {
			batch = append(batch, &mq.Message{Topic: topic, Key: "key-" + strconv.Itoa(k), Payload: []byte(strconv.Itoa(i))})
			if len(batch) == 100 {
				if err := c.Publish(context.Background(), batch...); err != nil {
					t.Fatal(err)
				}
				batch = nil
			}
		}
	}
	if len(batch) > 0 {
		if err := c.Publish(context.Background(), batch...); err != nil {
			t.Fatal(err)
		}
	}
}

func testPerKeyOrder(t *testing.T, h Harness) {
	topic := uniqueTopic(t)
	oc := NewOrderChecker()
	for range 2 {
		c := h.client(t)
		sub, err := c.Subscribe(context.Background(), topic, "ordered", oc.Handle, h.subOpts(mq.WithConcurrency(8))...)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
	}
	const keys, perKey = 100, 100
	PublishSequenced(t, h.client(t), topic, keys, perKey)
	h.waitFor(t, "10,000 messages in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
}

func testRedelivery(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	var mu sync.Mutex
	var attempts []int
	sub, err := c.Subscribe(context.Background(), topic, "g", func(_ context.Context, m *mq.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, m.Attempt)
		if m.Attempt < 3 {
			return errors.New("not yet")
		}
		return nil
	}, h.subOpts(fastRedelivery)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic, Key: "k", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the third attempt", func() bool { mu.Lock(); defer mu.Unlock(); return len(attempts) >= 3 })
	sub.Close()
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Fatalf("attempts %v, want [1 2 3]", attempts)
	}
}

func testPanic(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	var calls atomic.Int32
	done := make(chan int, 1)
	sub, err := c.Subscribe(context.Background(), topic, "g", func(_ context.Context, m *mq.Message) error {
		calls.Add(1)
		if m.Attempt == 1 {
			panic("handler bug")
		}
		done <- m.Attempt
		return nil
	}, h.subOpts(fastRedelivery)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-done:
		if a != 2 {
			t.Fatalf("succeeded on attempt %d, want 2", a)
		}
	case <-time.After(h.wait()):
		t.Fatal("a panicking handler was not retried")
	}
}

func testDeadLetter(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	var calls atomic.Int32
	sub, err := c.Subscribe(context.Background(), topic, "workers", func(_ context.Context, m *mq.Message) error {
		calls.Add(1)
		return fmt.Errorf("boom on attempt %d", m.Attempt)
	}, h.subOpts(mq.WithMaxAttempts(3), fastRedelivery)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	dead := h.deadLetters(t, c, topic)
	sent := &mq.Message{Topic: topic, Key: "poison", Payload: []byte("bad"), Headers: map[string]string{"origin": "test"}}
	if err := c.Publish(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the dead-lettered message", func() bool { return dead.len() > 0 })
	got, _ := dead.byID(sent.ID)
	if got == nil {
		t.Fatalf("dead-letter topic got %d messages, none with ID %s", dead.len(), sent.ID)
	}
	want := map[string]string{
		mq.HeaderDLQAttempts: "3", mq.HeaderDLQTopic: topic, mq.HeaderDLQGroup: "workers",
		mq.HeaderDLQError: "boom on attempt 3", "origin": "test",
	}
	for k, v := range want {
		if got.Headers[k] != v {
			t.Errorf("dead letter header %q = %q, want %q", k, got.Headers[k], v)
		}
	}
	if got.Key != sent.Key || string(got.Payload) != "bad" || got.Topic != topic+".dlq" {
		t.Errorf("dead letter key %q payload %q topic %q", got.Key, got.Payload, got.Topic)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
}

func testMemberDies(t *testing.T, h Harness) {
	topic := uniqueTopic(t)
	doomed, survivor := h.client(t), h.client(t)
	var held sync.Map // IDs the doomed member got and never acked
	var heldCount atomic.Int32
	_, err := doomed.Subscribe(context.Background(), topic, "g", func(ctx context.Context, m *mq.Message) error {
		held.Store(m.ID, true)
		heldCount.Add(1)
		<-ctx.Done() // hangs until the member is killed
		return ctx.Err()
	}, h.subOpts(mq.WithConcurrency(4))...)
	if err != nil {
		t.Fatal(err)
	}
	var in inbox
	sub, err := survivor.Subscribe(context.Background(), topic, "g", in.handler, h.subOpts(mq.WithConcurrency(4))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var sent []*mq.Message
	for i := range 60 {
		sent = append(sent, &mq.Message{Topic: topic, Key: "k" + strconv.Itoa(i), Payload: []byte("x")})
	}
	if err := survivor.Publish(context.Background(), sent...); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the doomed member to take messages", func() bool { return heldCount.Load() > 0 })
	// Kill it: a shutdown whose deadline has already passed abandons the
	// running handlers without acknowledging them.
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := doomed.Shutdown(expired); err == nil {
		t.Error("Shutdown with an expired context abandoned handlers but reported no error")
	}
	h.waitFor(t, "every message at the survivor", func() bool { return len(in.ids()) == len(sent) })
	ids := in.ids()
	held.Range(func(id, _ any) bool {
		if ids[id.(string)] == 0 {
			t.Errorf("message %s, held by the dead member, never reached the survivor", id)
		}
		return true
	})
}

func testOutageWithoutBuffer(t *testing.T, h Harness) {
	if h.Outage == nil {
		t.Skip("harness cannot stage an outage")
	}
	c := h.client(t,
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxAttempts: 2}),
		mq.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour}))
	topic := uniqueTopic(t)
	restore := h.Outage(t)
	defer restore()
	err := c.Publish(context.Background(), &mq.Message{Topic: topic})
	if !errors.Is(err, mq.ErrUnreachable) {
		t.Fatalf("publish to an unreachable broker: %v, want ErrUnreachable", err)
	}
	err = c.Publish(context.Background(), &mq.Message{Topic: topic})
	if !errors.Is(err, mq.ErrCircuitOpen) {
		t.Fatalf("publish after the breaker tripped: %v, want ErrCircuitOpen", err)
	}
}

func testDedup(t *testing.T, h Harness) {
	store, err := mq.NewMemoryDedup(1000)
	if err != nil {
		t.Fatal(err)
	}
	c := h.client(t, mq.WithDedup(store))
	topic := uniqueTopic(t)
	var mu sync.Mutex
	seen := map[string]int{}
	sub, err := c.Subscribe(context.Background(), topic, "g", func(_ context.Context, m *mq.Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen[string(m.Payload)]++
		return nil
	}, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	err = c.Publish(context.Background(),
		&mq.Message{Topic: topic, ID: "same-id", Key: "k", Payload: []byte("first")},
		&mq.Message{Topic: topic, ID: "same-id", Key: "k", Payload: []byte("again")},
		&mq.Message{Topic: topic, Key: "k", Payload: []byte("marker")})
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the marker", func() bool { mu.Lock(); defer mu.Unlock(); return seen["marker"] > 0 })
	mu.Lock()
	defer mu.Unlock()
	if seen["first"] != 1 || seen["again"] != 0 {
		t.Fatalf("handled %v; a repeated ID must be skipped", seen)
	}
}

func testCloseDrains(t *testing.T, h Harness) {
	topic := uniqueTopic(t)
	c := h.NewClient(t)
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	_, err := c.Subscribe(context.Background(), topic, "g", func(context.Context, *mq.Message) error {
		close(started)
		<-release
		finished.Store(true)
		return nil
	}, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic, Key: "k", Payload: []byte("in flight")}); err != nil {
		t.Fatal(err)
	}
	<-started
	closed := make(chan error)
	go func() { closed <- c.Close() }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the in-flight handler finished")
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic}); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Subscribe(context.Background(), topic, "g", func(context.Context, *mq.Message) error { return nil }); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The drained message was acknowledged: a new member of the group
	// sees the next message on that key first, not a redelivery.
	c2 := h.client(t)
	var in inbox
	sub, err := c2.Subscribe(context.Background(), topic, "g", in.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c2.Publish(context.Background(), &mq.Message{Topic: topic, Key: "k", Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the next message", func() bool { return in.len() > 0 })
	in.mu.Lock()
	defer in.mu.Unlock()
	if p := string(in.msgs[0].Payload); p != "after" {
		t.Fatalf("new member first got %q: the drained message was not acknowledged", p)
	}
}

func testBadInput(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	ctx := context.Background()
	nop := func(context.Context, *mq.Message) error { return nil }
	checks := []struct {
		what string
		err  error
	}{
		{"nil message", c.Publish(ctx, nil)},
		{"empty topic", c.Publish(ctx, &mq.Message{Payload: []byte("x")})},
		{"nil among good", c.Publish(ctx, &mq.Message{Topic: topic}, nil)},
	}
	_, err := c.Subscribe(ctx, topic, "g", nil)
	checks = append(checks, struct {
		what string
		err  error
	}{"nil handler", err})
	_, err = c.Subscribe(ctx, "", "g", nop)
	checks = append(checks, struct {
		what string
		err  error
	}{"subscribe empty topic", err})
	_, err = c.Subscribe(ctx, topic, "", nop)
	checks = append(checks, struct {
		what string
		err  error
	}{"empty group", err})
	_, err = c.Subscribe(ctx, topic, "g", nop, mq.WithConcurrency(0))
	checks = append(checks, struct {
		what string
		err  error
	}{"zero concurrency", err})
	for _, ch := range checks {
		if !errors.Is(ch.err, mq.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", ch.what, ch.err)
		}
	}
	if h.MaxMessageBytes <= 0 {
		return
	}
	var in inbox
	sub, err := c.Subscribe(ctx, topic, "g", in.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	err = c.Publish(ctx,
		&mq.Message{Topic: topic, Key: "k", Payload: []byte("small, must not be sent")},
		&mq.Message{Topic: topic, Key: "k", Payload: make([]byte, h.MaxMessageBytes+1)})
	if !errors.Is(err, mq.ErrTooLarge) {
		t.Fatalf("oversized message: %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "limit") {
		t.Errorf("ErrTooLarge does not name the limit: %v", err)
	}
	if err := c.Publish(ctx, &mq.Message{Topic: topic, Key: "k", Payload: []byte("marker")}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the marker", func() bool { return in.len() > 0 })
	in.mu.Lock()
	defer in.mu.Unlock()
	if p := string(in.msgs[0].Payload); p != "marker" {
		t.Fatalf("first message after a rejected batch is %q: part of the batch was sent", p)
	}
}

// testEphemeralGroup: a group subscribed WithEphemeralGroup is gone from
// the broker once its subscription ends: the same name subscribed again is
// a new group, which does not get what was published in between.
func testEphemeralGroup(t *testing.T, h Harness) {
	topic := uniqueTopic(t)
	c := h.client(t)
	var first inbox
	sub, err := c.Subscribe(context.Background(), topic, "once", first.handler, h.subOpts(mq.WithEphemeralGroup())...)
	if errors.Is(err, mq.ErrUnsupported) {
		t.Skip("provider cannot delete groups")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic, ID: "m1"}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "m1", func() bool { return first.len() == 1 })
	if err := sub.Close(); err != nil {
		t.Fatalf("Close of an ephemeral group: %v", err)
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic, ID: "m2"}); err != nil {
		t.Fatal(err)
	}
	// Brokers that place a new group by timestamp (Kafka) do so to the
	// millisecond: let the clock leave m2's millisecond first.
	for ms := time.Now().UnixMilli(); time.Now().UnixMilli() <= ms+1; {
		time.Sleep(100 * time.Microsecond)
	}
	var again inbox
	sub2, err := c.Subscribe(context.Background(), topic, "once", again.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	if err := c.Publish(context.Background(), &mq.Message{Topic: topic, ID: "m3"}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "m3 in the new group", func() bool { return again.ids()["m3"] > 0 })
	if again.ids()["m2"] > 0 {
		t.Fatal("the group outlived its ephemeral subscription: m2, published between, reached the same name")
	}
}
