package mqaudit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/batcher"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/mqaudit"
	"github.com/groundwork-go/groundwork/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

func TestMemory(t *testing.T) { testSink(t, "mem://mqaudit-test?partitions=4") }

func TestRedisStreams(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	testSink(t, r.URL+"?partitions=4&block=100ms&ack_interval=20ms")
}

// collected is what a subscriber got, in arrival order.
type collected struct {
	mu   sync.Mutex
	msgs []*mq.Message
	all  chan struct{}
	want int
}

func (c *collected) handle(_ context.Context, m *mq.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	if len(c.msgs) == c.want {
		close(c.all)
	}
	return nil
}

// testSink: decisions from an engine reach the topic as JSON messages
// keyed by subject, every field as documented, each subject's in order.
func testSink(t *testing.T, url string) {
	client, err := mq.Open(bg, url)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	topic := fmt.Sprintf("audit-%d", time.Now().UnixNano())
	const subjects, per = 3, 40
	got := &collected{all: make(chan struct{}), want: subjects * per}
	sub, err := client.Subscribe(bg, topic, "auditors", got.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	tick := make(chan time.Time)
	sink, err := mqaudit.New(client, topic, privilege.WithAuditBatch(16, time.Hour),
		privilege.AuditOption(func(o *batcher.Options) error { o.Tick = tick; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	store := privilege.NewMemoryStore()
	defer store.Close()
	must(t, store.PutRole(bg, privilege.Role{ID: "reader", Name: "reader", Active: true}))
	must(t, store.PutPermission(bg, "reader", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	must(t, store.Grant(bg, "s0", "reader", time.Time{}))
	var sent []privilege.AuditEvent
	rec := recorderFunc(func(e privilege.AuditEvent) { sent = append(sent, e); sink.Audit(bg, e) })
	e, err := privilege.NewEngine(store, privilege.WithAudit(rec, 1))
	must(t, err)
	defer e.Close()
	for i := range per {
		for s := range subjects {
			_, err := e.Check(bg, privilege.Request{Subject: fmt.Sprintf("s%d", s), Resource: fmt.Sprintf("wiki/%d", i), Action: "read"})
			must(t, err)
		}
	}
	must(t, sink.Shutdown(bg))
	must(t, sink.Shutdown(bg)) // idempotent
	sink.Audit(bg, sent[0])    // after Shutdown: dropped, no panic

	select {
	case <-got.all:
	case <-time.After(60 * time.Second):
		t.Fatalf("got %d messages of %d", len(got.msgs), got.want)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	// Each subject's messages arrive in the order its decisions were made.
	bySubject := map[string][]privilege.AuditEvent{}
	for _, e := range sent {
		bySubject[e.Subject] = append(bySubject[e.Subject], e)
	}
	next := map[string]int{}
	ids := map[string]bool{}
	for _, m := range got.msgs {
		var ev mqaudit.Event
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatalf("payload %s: %v", m.Payload, err)
		}
		if m.Key != ev.Subject || m.Headers["schema"] != mqaudit.Schema || m.Headers["content-type"] != "application/json" {
			t.Fatalf("message key %q headers %v for subject %q", m.Key, m.Headers, ev.Subject)
		}
		if ids[m.ID] {
			t.Fatalf("message ID %s twice", m.ID)
		}
		ids[m.ID] = true
		i := next[ev.Subject]
		next[ev.Subject]++
		w := bySubject[ev.Subject][i]
		want := mqaudit.Event{Subject: w.Subject, Resource: w.Resource, Action: w.Action, Allowed: w.Allowed, Reason: w.Reason,
			PolicyID: w.PolicyID, Role: w.Role, Version: w.Version, Source: w.Source, DecidedAt: w.Time}
		if !ev.DecidedAt.Equal(want.DecidedAt) {
			t.Fatalf("subject %s message %d: time %v, want %v", ev.Subject, i, ev.DecidedAt, want.DecidedAt)
		}
		ev.DecidedAt = want.DecidedAt
		if ev != want {
			t.Fatalf("subject %s message %d:\n%+v\nwant (in order)\n%+v", ev.Subject, i, ev, want)
		}
	}
	if next["s0"] != per || !bySubject["s0"][0].Allowed || bySubject["s1"][0].Allowed {
		t.Fatalf("s0 should be allowed, s1 denied: %v", next)
	}
}

// TestTooLargeSplit: a message the client refuses as too large is given
// up alone; the others of its batch are published.
func TestTooLargeSplit(t *testing.T) {
	client, err := mq.Open(bg, "mem://mqaudit-large?max_message_bytes=1024")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	got := &collected{all: make(chan struct{}), want: 5}
	sub, err := client.Subscribe(bg, "audit", "g", got.handle)
	must(t, err)
	defer sub.Close()
	failed := make(chan int, 100)
	sink, err := mqaudit.New(client, "audit", privilege.WithAuditBatch(6, time.Hour),
		privilege.AuditOption(func(o *batcher.Options) error {
			o.OnAttempt = func(n int, err error) {
				if err != nil {
					failed <- n
				}
			}
			return nil
		}))
	must(t, err)
	for i := range 6 {
		reason := "ok"
		if i == 2 {
			reason = string(make([]byte, 4096))
		}
		sink.Audit(bg, privilege.AuditEvent{Subject: fmt.Sprintf("u%d", i), Reason: reason, Time: time.Now()})
	}
	// Shutdown reports the refused message if it was written during
	// Shutdown; the writer may have taken the full batch before.
	if err := sink.Shutdown(bg); err != nil && !errors.Is(err, mq.ErrTooLarge) {
		t.Fatal(err)
	}
	select {
	case <-got.all:
	case <-time.After(60 * time.Second):
		t.Fatalf("got %d messages of 5", len(got.msgs))
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, m := range got.msgs {
		if m.Key == "u2" {
			t.Fatal("the too-large message was published")
		}
	}
	if len(failed) == 0 {
		t.Fatal("no attempt failed")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := mqaudit.New(nil, "t"); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("nil client: %v", err)
	}
	client, err := mq.Open(bg, "mem://mqaudit-errors")
	must(t, err)
	defer client.Close()
	if _, err := mqaudit.New(client, ""); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("empty topic: %v", err)
	}
	if _, err := mqaudit.New(client, "t", privilege.WithAuditQueue(0)); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("bad option: %v", err)
	}
}

type recorderFunc func(privilege.AuditEvent)

func (f recorderFunc) Audit(_ context.Context, e privilege.AuditEvent) { f(e) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestClosedClient: with its mq.Client closed, each batch is given up at
// its first attempt (no retry can succeed) and counted as failed, and
// Shutdown returns at once with the error instead of waiting out the
// retries.
func TestClosedClient(t *testing.T) {
	client, err := mq.Open(bg, "mem://mqaudit-closed")
	must(t, err)
	must(t, client.Close())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(bg) }()
	var mu sync.Mutex
	attempted := 0 // events over every attempt: more than queued is a retry
	tick := make(chan time.Time)
	sink, err := mqaudit.New(client, "audit",
		privilege.WithAuditBatch(4, time.Hour),
		// A retry would wait an hour: only giving up at once lets the
		// writer go on and Shutdown return.
		privilege.WithAuditRetry(resilience.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour, MaxAttempts: 5, MaxElapsedTime: 2 * time.Hour}),
		privilege.WithAuditMeterProvider(mp),
		privilege.AuditOption(func(o *batcher.Options) error {
			o.Tick = tick
			o.OnAttempt = func(n int, err error) {
				if !errors.Is(err, mq.ErrClosed) {
					t.Errorf("attempt: %v, want mq.ErrClosed", err)
				}
				mu.Lock()
				attempted += n
				mu.Unlock()
			}
			return nil
		}))
	must(t, err)
	counts := func() map[string]int64 {
		return otelcheck.Totals(t, reader, func(p otelcheck.Point) string { return p.Metric })
	}
	const events = 10 // batches of 4 as they fill, the rest on the tick
	for i := range events {
		sink.Audit(bg, privilege.AuditEvent{Subject: fmt.Sprintf("u%d", i), Time: time.Now()})
	}
	tick <- time.Now()
	testserver.WaitFor(t, 60*time.Second, "every event counted as failed", func() bool { return counts()["privilege.audit.failed"] == events })
	if c := counts(); c["privilege.audit.written"] != 0 {
		t.Fatalf("metrics %v", c)
	}

	// Events queued at Shutdown: given up at once too, reported by it.
	for i := range 3 {
		sink.Audit(bg, privilege.AuditEvent{Subject: fmt.Sprintf("v%d", i), Time: time.Now()})
	}
	done := make(chan error, 1)
	go func() { done <- sink.Shutdown(bg) }()
	select {
	case err := <-done:
		if !errors.Is(err, mq.ErrClosed) {
			t.Fatalf("Shutdown: %v, want mq.ErrClosed", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Shutdown blocked on a closed client (retrying?)")
	}
	mu.Lock()
	defer mu.Unlock()
	if attempted != events+3 {
		t.Fatalf("%d events attempted, want %d: each batch once", attempted, events+3)
	}
}
