package mqtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

var errUnknownProduct = errors.New("unknown product")

// testPermanent: a handler error marked mq.Permanent dead-letters the
// message after that one attempt, whatever WithMaxAttempts says, with the
// error's own text; the next message of the key is handled after it.
func testPermanent(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	var poisonRuns atomic.Int32
	markerDone := make(chan struct{})
	sub, err := c.Subscribe(context.Background(), topic, "workers", func(_ context.Context, m *mq.Message) error {
		if string(m.Payload) == "marker" {
			close(markerDone)
			return nil
		}
		poisonRuns.Add(1)
		return fmt.Errorf("order %s: %w", m.Key, mq.Permanent(errUnknownProduct))
	}, h.subOpts(mq.WithMaxAttempts(5), fastRedelivery)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	dead := h.deadLetters(t, c, topic)
	poison := &mq.Message{Topic: topic, Key: "o-17", Payload: []byte("sku that does not exist")}
	marker := &mq.Message{Topic: topic, Key: "o-17", Payload: []byte("marker")}
	if err := c.Publish(context.Background(), poison, marker); err != nil {
		t.Fatal(err)
	}
	select {
	case <-markerDone:
	case <-time.After(h.wait()):
		t.Fatal("the message after the permanent failure was never handled")
	}
	h.waitFor(t, "the dead letter", func() bool { m, _ := dead.byID(poison.ID); return m != nil })
	got, _ := dead.byID(poison.ID)
	want := map[string]string{mq.HeaderDLQAttempts: "1", mq.HeaderDLQError: "order o-17: unknown product", mq.HeaderDLQGroup: "workers"}
	for k, v := range want {
		if got.Headers[k] != v {
			t.Errorf("dead letter header %q = %q, want %q", k, got.Headers[k], v)
		}
	}
	if n := poisonRuns.Load(); n != 1 {
		t.Errorf("the handler ran %d times on a permanent failure, want 1", n)
	}
}

// testRetryAfter: a handler error wrapped in mq.RetryAfter has the next
// attempt come after the wait it asks for, not after the redelivery
// backoff (an hour here, far past the test's patience); each is still an
// attempt, so the message is dead-lettered after WithMaxAttempts, with the
// error's own text.
func testRetryAfter(t *testing.T, h Harness) {
	c := h.client(t)
	topic := uniqueTopic(t)
	var runs atomic.Int32
	sub, err := c.Subscribe(context.Background(), topic, "workers", func(_ context.Context, m *mq.Message) error {
		runs.Add(1)
		return mq.RetryAfter(errors.New("upstream busy on attempt "+strconv.Itoa(m.Attempt)), time.Millisecond)
	}, h.subOpts(mq.WithMaxAttempts(3),
		mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	dead := h.deadLetters(t, c, topic)
	sent := &mq.Message{Topic: topic, Key: "k", Payload: []byte("x")}
	if err := c.Publish(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the dead letter after three attempts a millisecond apart", func() bool { m, _ := dead.byID(sent.ID); return m != nil })
	got, _ := dead.byID(sent.ID)
	if a, e := got.Headers[mq.HeaderDLQAttempts], got.Headers[mq.HeaderDLQError]; a != "3" || e != "upstream busy on attempt 3" {
		t.Errorf("dead letter attempts %q, error %q; want 3 and the handler's error", a, e)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
}
