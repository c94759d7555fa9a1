package logship

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
	"github.com/groundwork-go/groundwork/resilience"
)

// mqSinkBrokers are the real brokers MQSink is tested against.
var mqSinkBrokers = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"redis", func(t *testing.T) string {
		return testserver.StartRedis(t, nil).URL + "?max_message_bytes=65536&block=100ms&ack_interval=20ms&dial_timeout=1s"
	}},
	{"kafka", func(t *testing.T) string {
		return "kafka://" + strings.Join(testserver.StartKafka(t).Brokers, ",") + "?max_message_bytes=65536&session_timeout=3s&heartbeat_interval=100ms&commit_interval=100ms"
	}},
}

func mqSinkOpen(t *testing.T, url string) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), url, mq.WithRetry(resilience.RetryPolicy{MaxAttempts: 2, InitialInterval: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMQSinkEndToEnd: records written by the Sink, and through a
// Shipper, come back from a subscription intact, with their event id as
// the message ID.
func TestMQSinkEndToEnd(t *testing.T) {
	for _, b := range mqSinkBrokers {
		t.Run(b.name, func(t *testing.T) {
			mqfileLeakCheck(t)
			c := mqSinkOpen(t, b.url(t))
			start := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
			recs := append(mqfileRecords("orders", start, 40), mqfileRecords("billing", start, 10)...)
			wait := mqfileCollect(t, c, "logs", len(recs))

			sink := MQSink(c, "logs")
			res, err := sink.Write(context.Background(), recs[:40])
			if err != nil || len(res.Failures) != 0 {
				t.Fatalf("Write: %v %+v", err, res)
			}
			sh, err := NewShipper(sink)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs[40:] {
				sh.submit(context.Background(), r)
			}
			if err := sh.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := wait()
			for _, want := range recs {
				if d := mqfileSameRecord(got[want.ID], want); d != "" {
					t.Error(d)
				}
			}
			// Close (through Shutdown) left the caller's client open.
			if err := c.Publish(context.Background(), &mq.Message{Topic: "other", Payload: []byte("{}")}); err != nil {
				t.Fatalf("client closed by the Sink: %v", err)
			}
		})
	}
}

// TestMQSinkTooLarge: a record over the broker's limit is refused alone,
// permanently; the others of its batch are delivered.
func TestMQSinkTooLarge(t *testing.T) {
	for _, b := range mqSinkBrokers {
		t.Run(b.name, func(t *testing.T) {
			mqfileLeakCheck(t)
			c := mqSinkOpen(t, b.url(t))
			recs := mqfileRecords("orders", time.Now(), 5)
			recs[2].JSON = []byte(`{"message":"` + strings.Repeat("x", 70000) + `"}`)
			wait := mqfileCollect(t, c, "logs", 4)
			res, err := MQSink(c, "logs").Write(context.Background(), recs)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Failures) != 1 || res.Failures[0].Index != 2 || res.Failures[0].Retryable || !errors.Is(res.Failures[0].Err, mq.ErrTooLarge) {
				t.Fatalf("Failures %+v, want record 2 refused for good as too large", res.Failures)
			}
			got := wait()
			for i, want := range recs {
				if _, ok := got[want.ID]; ok != (i != 2) {
					t.Errorf("record %d delivered: %v", i, ok)
				}
			}
		})
	}
}

// TestMQSinkOutage: a broker that is down fails the whole Write,
// retryably (an error, no Failures).
func TestMQSinkOutage(t *testing.T) {
	mqfileLeakCheck(t)
	r := testserver.StartRedis(t, nil)
	c := mqSinkOpen(t, r.URL+"?dial_timeout=200ms&read_timeout=200ms&write_timeout=200ms")
	r.Kill()
	res, err := MQSink(c, "logs").Write(context.Background(), mqfileRecords("orders", time.Now(), 3))
	if err == nil || len(res.Failures) != 0 {
		t.Fatalf("Write to a dead broker: %v %+v, want a retryable (whole) error", err, res)
	}
	if mqPermanent(err) {
		t.Fatalf("%v classed permanent", err)
	}
}

// TestMQSinkPermanent: a closed client, a nil client, an empty topic
// refuse the whole batch for good (a Permanent error), naming why; an
// empty batch is a no-op.
func TestMQSinkPermanent(t *testing.T) {
	mqfileLeakCheck(t)
	closed, err := mq.Open(context.Background(), "mem://mqsink-permanent")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	open, err := mq.Open(context.Background(), "mem://mqsink-permanent2")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	recs := mqfileRecords("orders", time.Now(), 3)
	for name, tc := range map[string]struct {
		sink Sink
		want error
	}{
		"closed client": {MQSink(closed, "logs"), mq.ErrClosed},
		"nil client":    {MQSink(nil, "logs"), ErrInvalid},
		"empty topic":   {MQSink(open, ""), ErrInvalid},
	} {
		res, err := tc.sink.Write(context.Background(), recs)
		if !isPermanent(err) || !errors.Is(err, tc.want) || len(res.Failures) != 0 {
			t.Errorf("%s: Write = %+v, %v; want a Permanent error wrapping %v and no per-record Failures", name, res, err, tc.want)
		}
		if res, err := tc.sink.Write(context.Background(), nil); err != nil || len(res.Failures) != 0 {
			t.Errorf("%s: empty batch: %v %+v", name, err, res)
		}
	}
}
