package mqtest

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// bufferedClient returns a publisher with an outage buffer whose flusher
// retries soon after the broker is back.
func (h Harness) bufferedClient(t *testing.T) *mq.Client {
	return h.client(t, mq.WithOutageBuffer(t.TempDir()),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 50 * time.Millisecond}))
}

// outage stages an outage and returns its restore function, which also
// runs when the test ends if the test has not called it.
func (h Harness) outage(t *testing.T) (restore func()) {
	undo := h.Outage(t)
	restored := false
	t.Cleanup(func() {
		if !restored {
			undo()
		}
	})
	return func() {
		if !restored {
			restored = true
			undo()
		}
	}
}

// publishOneByOne publishes sequence numbers [from, to) on every key, one
// Publish call per message, as PublishSequenced numbers them.
func publishOneByOne(t *testing.T, c *mq.Client, topic string, keys, from, to int, each func()) {
	t.Helper()
	for i := from; i < to; i++ {
		for k := range keys {
			if each != nil {
				each()
			}
			m := &mq.Message{Topic: topic, Key: "key-" + strconv.Itoa(k), Payload: []byte(strconv.Itoa(i))}
			if err := c.Publish(context.Background(), m); err != nil {
				t.Fatalf("publish %d on key-%d: %v", i, k, err)
			}
		}
	}
}

// testOutageWithBuffer: messages published before, during and right after
// an outage, the last while the buffer is still draining, all arrive, in
// order per key across the three.
func testOutageWithBuffer(t *testing.T, h Harness) {
	if h.Outage == nil {
		t.Skip("harness cannot stage an outage")
	}
	topic := uniqueTopic(t)
	oc := NewOrderChecker()
	sub, err := h.client(t).Subscribe(context.Background(), topic, "g", oc.Handle, h.subOpts(mq.WithConcurrency(4))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pub := h.bufferedClient(t)
	const keys, perKey = 10, 45
	PublishSequenced(t, pub, topic, keys, perKey/3)
	restore := h.outage(t)
	publishOneByOne(t, pub, topic, keys, perKey/3, 2*perKey/3, nil)
	if pub.Buffered() == 0 {
		t.Fatal("nothing went to the outage buffer during the outage")
	}
	restore()
	// The broker is back and the flusher is about to drain: what is
	// published now must queue behind what is buffered.
	whileDraining := 0
	publishOneByOne(t, pub, topic, keys, 2*perKey/3, perKey, func() {
		if pub.Buffered() > 0 {
			whileDraining++
		}
	})
	if whileDraining == 0 {
		t.Fatal("the buffer had drained before the first publish after the outage: the test did not publish during the drain")
	}
	t.Logf("%d of %d publishes after the outage found the buffer still draining", whileDraining, keys*(perKey-2*perKey/3))
	h.waitFor(t, "every message, in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	h.waitFor(t, "the buffer to drain", func() bool { return pub.Buffered() == 0 })
}

// testRefusedInBuffer: a buffered message the broker refuses for good, in
// the middle of a Publish call and of other buffered messages, goes to the
// dead-letter topic (or, where that refuses it too, the quarantine), while
// the messages after it still arrive in order and the buffer drains.
func testRefusedInBuffer(t *testing.T, h Harness) {
	if h.Outage == nil {
		t.Skip("harness cannot stage an outage, which is what fills the buffer")
	}
	if h.Refuse == nil {
		t.Skip("harness cannot make the broker refuse a message")
	}
	topic := uniqueTopic(t)
	const keys, perKey = 4, 30
	var accept []string
	for k := range keys {
		accept = append(accept, "key-"+strconv.Itoa(k))
	}
	poison := h.Refuse(t, topic, accept)
	oc := NewOrderChecker() // the poison's payload is no sequence number: delivered, it fails the check
	reader := h.client(t)
	sub, err := reader.Subscribe(context.Background(), topic, "g", oc.Handle, h.subOpts(mq.WithConcurrency(4))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	dead := h.deadLetters(t, reader, topic)

	pub := h.bufferedClient(t)
	PublishSequenced(t, pub, topic, keys, perKey/3)
	restore := h.outage(t)
	publishOneByOne(t, pub, topic, keys, perKey/3, perKey/2-1, nil)
	// One call: a sequence number on every key, the poison, the next.
	var call []*mq.Message
	for _, i := range []int{perKey/2 - 1, -1, perKey / 2} {
		if i < 0 {
			call = append(call, poison)
			continue
		}
		for _, k := range accept {
			call = append(call, &mq.Message{Topic: topic, Key: k, Payload: []byte(strconv.Itoa(i))})
		}
	}
	if err := pub.Publish(context.Background(), call...); err != nil {
		t.Fatalf("publish with the poison during the outage: %v", err)
	}
	publishOneByOne(t, pub, topic, keys, perKey/2+1, perKey, nil)
	if pub.Buffered() == 0 {
		t.Fatal("nothing went to the outage buffer during the outage")
	}
	restore()

	h.waitFor(t, "every message after the poison, in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	h.waitFor(t, "the buffer to drain", func() bool { return pub.Buffered() == 0 })
	var where string
	h.waitFor(t, "the poison in the dead-letter topic or the quarantine", func() bool {
		if got, _ := dead.byID(poison.ID); got != nil {
			where = "dead-letter topic"
			if got.Key != poison.Key || !bytes.Equal(got.Payload, poison.Payload) {
				t.Errorf("dead letter key %q, %d payload bytes; sent key %q, %d bytes", got.Key, len(got.Payload), poison.Key, len(poison.Payload))
			}
			if got.Headers[mq.HeaderDLQTopic] != topic || got.Headers[mq.HeaderDLQError] == "" {
				t.Errorf("dead letter headers %s=%q %s=%q: want the topic and the broker's error",
					mq.HeaderDLQTopic, got.Headers[mq.HeaderDLQTopic], mq.HeaderDLQError, got.Headers[mq.HeaderDLQError])
			}
			return true
		}
		q, err := pub.Quarantined(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range q {
			if e.Message != nil && e.Message.ID == poison.ID {
				where = "quarantine"
				return true
			}
		}
		return false
	})
	t.Logf("the refused message went to the %s", where)
}
