package rocketmq

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// roundTrip encodes m as the producer sends it and decodes it as the
// consumer receives it (the properties go through their wire encoding).
func roundTrip(t *testing.T, m *driver.Message) driver.Message {
	t.Helper()
	nm, err := toNative(m)
	if err != nil {
		t.Fatal(err)
	}
	var e primitive.MessageExt
	e.Body = nm.Body
	e.UnmarshalProperties([]byte(nm.MarshallProperties()))
	return fromNative(&e, m.Topic)
}

func TestMessageRoundTrip(t *testing.T) {
	sent := &driver.Message{ID: "id-1", Topic: "t", Key: "ключ-🔑 with space", Payload: []byte{0, 1, 2},
		Headers: map[string]string{"héader": "värde 值 🚀", "empty-value": "", "traceparent": "00-x"},
		Time:    time.Unix(1_700_000_000, 123_456_789)}
	got := roundTrip(t, sent)
	if got.ID != sent.ID || got.Key != sent.Key || !bytes.Equal(got.Payload, sent.Payload) || !got.Time.Equal(sent.Time) || got.Topic != "t" {
		t.Fatalf("got %+v, sent %+v", got, sent)
	}
	if len(got.Headers) != len(sent.Headers) {
		t.Fatalf("headers %q, sent %q", got.Headers, sent.Headers)
	}
	for k, v := range sent.Headers {
		if gv, ok := got.Headers[k]; !ok || gv != v {
			t.Errorf("header %q = %q (%v), want %q", k, gv, ok, v)
		}
	}
	if len(sent.Headers) != 3 {
		t.Fatal("toNative modified the caller's headers")
	}
}

func TestMessageRefused(t *testing.T) {
	cases := map[string]*driver.Message{
		"reserves":  {Topic: "t", Headers: map[string]string{"DELAY": "3"}},
		"mq-id":     {Topic: "t", Headers: map[string]string{"mq-id": "x"}},
		"separator": {Topic: "t", Headers: map[string]string{"h": "a\x01b"}},
		"0x02":      {Topic: "t", Key: "k\x02"},
	}
	for want, m := range cases {
		if _, err := toNative(m); !errors.Is(err, mq.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want ErrInvalid mentioning %q", m, err, want)
		}
	}
	big := &driver.Message{Topic: "t", Headers: map[string]string{"h": strings.Repeat("x", 40000)}}
	if _, err := toNative(big); !errors.Is(err, driver.ErrTooLarge) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("40 kB header: %v, want ErrTooLarge naming the limit", err)
	}
}

// TestForeignMessage: a message another producer sent gets its unique key
// as ID, its born time as Time, and no system property as a header.
func TestForeignMessage(t *testing.T) {
	var e primitive.MessageExt
	e.MsgId, e.BornTimestamp = "OFFSETID", 1_700_000_000_000
	e.WithProperty(primitive.PropertyUniqueClientMessageIdKeyIndex, "UNIQ")
	e.WithProperty(primitive.PropertyTags, "tagA")
	e.WithProperty("custom", "v")
	m := fromNative(&e, "t")
	if m.ID != "UNIQ" || !m.Time.Equal(time.UnixMilli(1_700_000_000_000)) || len(m.Headers) != 1 || m.Headers["custom"] != "v" {
		t.Fatalf("got %+v", m)
	}
}

// TestKeySelector: a key always lands on one queue, the one Java's
// SelectMessageQueueByHash picks; keyless messages go round robin.
func TestKeySelector(t *testing.T) {
	// As computed by Java 17 (String.hashCode), run on this machine.
	for s, want := range map[string]int32{"order-42": 1234255197, "": 0, "🔑": 1772660, "polygenelubricants": -2147483648} {
		if got := javaHash(s); got != want {
			t.Errorf("javaHash(%q) = %d, want %d", s, got, want)
		}
	}
	if queueIndex("polygenelubricants", 4) != 0 {
		t.Error("Integer.MIN_VALUE hash must map to queue 0")
	}
	queues := []*primitive.MessageQueue{{QueueId: 0}, {QueueId: 1}, {QueueId: 2}, {QueueId: 3}}
	var s keySelector
	keyed := func(k string) *primitive.Message {
		m := &primitive.Message{}
		m.WithProperty(primitive.PropertyKeys, k)
		return m
	}
	for i := range 10 {
		if q := s.Select(keyed("order-42"), queues, ""); q.QueueId != 1234255197%4 {
			t.Fatalf("round %d: order-42 went to queue %d", i, q.QueueId)
		}
	}
	seen := map[int]bool{}
	for range 4 {
		seen[s.Select(&primitive.Message{}, queues, "").QueueId] = true
	}
	if len(seen) != 4 {
		t.Fatalf("keyless messages went to queues %v, want all four", seen)
	}
	if s.Select(&primitive.Message{}, nil, "") != nil {
		t.Fatal("no queues: want nil")
	}
}

func TestMapErr(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{errors.New("CODE: 13, DESC: the message body size over max value, MAX: 4194304"), driver.ErrTooLarge},
		{errors.New("CODE: 14, DESC: service not available now"), driver.ErrUnreachable},
		{errors.New("CODE: 2, DESC: [TIMEOUT_CLEAN_QUEUE]broker busy"), driver.ErrUnreachable},
		{errors.New("the topic=t route info not found"), driver.ErrUnreachable},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), driver.ErrUnreachable},
	}
	for _, c := range cases {
		if got := mapErr(c.err); !errors.Is(got, c.want) {
			t.Errorf("%v: mapped to %v, want %v", c.err, got, c.want)
		}
	}
	if got := mapErr(errors.New("CODE: 16, DESC: no permission")); errors.Is(got, driver.ErrUnreachable) || errors.Is(got, driver.ErrTooLarge) {
		t.Errorf("NO_PERMISSION mapped to %v; it is permanent", got)
	}
	if got := mapErr(errors.New("CODE: 13, DESC: topic name illegal")); errors.Is(got, driver.ErrTooLarge) {
		t.Errorf("an illegal topic mapped to %v", got)
	}
}
