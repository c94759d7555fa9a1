package mq

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/resilience"
)

var zeroTime time.Time

func TestCodecRoundTrip(t *testing.T) {
	in := []driver.Message{
		{ID: "a", Topic: "t", Key: "k", Payload: []byte{0, 1, 2}, Headers: map[string]string{"h": "v", "ü": ""}, Time: time.Unix(0, 12345)},
		{ID: "b", Topic: "t2"},
	}
	out, err := decodeBatch(encodeBatch(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].ID != "a" || out[0].Key != "k" || !bytes.Equal(out[0].Payload, in[0].Payload) ||
		out[0].Headers["ü"] != "" || len(out[0].Headers) != 2 || !out[0].Time.Equal(in[0].Time) || out[1].Topic != "t2" {
		t.Fatalf("round trip changed the batch: %+v", out)
	}
}

// FuzzDecodeBatch: the outage buffer's decoder reads files from disk, so
// any bytes must give a batch or an error, never a panic, and an accepted
// batch must encode back to something that decodes the same.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch([]driver.Message{{ID: "x", Topic: "t", Payload: []byte("p"), Headers: map[string]string{"a": "b"}}}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 1, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := decodeBatch(b)
		if err != nil {
			if !errors.Is(err, errCodec) {
				t.Fatalf("error does not wrap errCodec: %v", err)
			}
			return
		}
		again, err := decodeBatch(encodeBatch(msgs))
		if err != nil || len(again) != len(msgs) {
			t.Fatalf("re-encoded batch: %d messages, %v", len(again), err)
		}
	})
}

func TestOptionValidation(t *testing.T) {
	bad := []Option{
		nil, WithOutageBuffer(""), WithOutageBufferMaxBytes(0), WithDedup(nil), WithLogger(nil),
		WithTracerProvider(nil), WithMeterProvider(nil), WithPropagator(nil),
		WithRetry(resilience.RetryPolicy{Jitter: 2}), WithBreaker(resilience.BreakerPolicy{FailureRatio: 3}),
	}
	for i, o := range bad {
		if _, err := NewClient(noopConn{}, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("option %d: %v, want ErrInvalid", i, err)
		}
	}
	if _, err := NewClient(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil conn: %v", err)
	}
	badSub := []SubscribeOption{nil, WithConcurrency(0), WithMaxAttempts(0), WithPrefetch(0), WithRedeliveryBackoff(resilience.RetryPolicy{Multiplier: 0.1})}
	for i, o := range badSub {
		if _, err := newSubOptions("t", []SubscribeOption{o}); !errors.Is(err, ErrInvalid) {
			t.Errorf("subscribe option %d: %v, want ErrInvalid", i, err)
		}
	}
	c, _ := NewClient(noopConn{})
	defer c.Close()
	_, err := c.Subscribe(context.Background(), "t", "g", func(context.Context, *Message) error { return nil }, WithDeadLetterTopic("t"))
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("dead-letter topic equal to the topic: %v", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Ping on a provider without Pinger: %v", err)
	}
}

// FuzzOpenURL: any string handed to Open gives a client or an error.
func FuzzOpenURL(f *testing.F) {
	for _, s := range []string{"fuzz://x?a=1", "fuzz://", "://", "fuzz://h/%zz", "mem://x?partitions=2", "kafka://a,b:9092?acks=all"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Open(context.Background(), s)
		if err == nil {
			c.Close()
		} else if !errors.Is(err, ErrBadURL) {
			t.Fatalf("Open(%q): %v does not wrap ErrBadURL", s, err)
		}
	})
}

func init() { Register("fuzz", noopDriver{}) }
