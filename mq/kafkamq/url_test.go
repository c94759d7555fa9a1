package kafkamq

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

func TestParseURL(t *testing.T) {
	good := "kafka://a:9092,b:9093?client_id=x&acks=leader&linger=5ms&compression=zstd&max_message_bytes=2048&" +
		"delivery_timeout=1s&partitions=3&create_topics=false&session_timeout=10s&heartbeat_interval=1s&rebalance_timeout=30s&commit_interval=200ms"
	u, _ := url.Parse(good)
	_, o, err := parseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxMessageBytes != 2048 || o.Partitions != 3 || !o.NoCreateTopics || o.CommitInterval.String() != "200ms" || len(o.GroupOpts) != 3 {
		t.Fatalf("parsed %+v", o)
	}
	bad := map[string]string{
		"kafka://a:9092?acks=some":           "acks",
		"kafka://a:9092?linger=soon":         "linger",
		"kafka://a:9092?compresion=gzip":     "unknown parameter",
		"kafka://a:9092?compression=brotli":  "compression",
		"kafka://a:9092?max_message_bytes=0": "max_message_bytes",
		"kafka://a:9092?partitions=0":        "partitions",
		"kafka://a:9092?create_topics=yes!":  "create_topics",
		"kafka://":                           "no broker",
		"kafka://a,b:9092":                   "host:port",
		"kafka://a:9092/topic":               "path",
	}
	for raw, want := range bad {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if _, _, err := parseURL(u); !errors.Is(err, driver.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrBadURL mentioning %q", raw, err, want)
		}
	}
}

// FuzzParseURL: any URL yields options or an ErrBadURL, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"kafka://a:1?acks=all", "kafka://a:1,b:2?linger=1s&partitions=-1", "kafka://[::1]:9092", "kafka://a:1?max_message_bytes=99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		if _, _, err := parseURL(u); err != nil && !errors.Is(err, driver.ErrBadURL) {
			t.Fatalf("%q: %v does not wrap ErrBadURL", s, err)
		}
	})
}

// TestRecordTime: a fresh message's Time rides on the record timestamp; an
// older one (buffered, or set by the caller) travels in mq-time, exactly.
func TestRecordTime(t *testing.T) {
	old := time.Unix(1_700_000_000, 123_456_789)
	recs := toRecords([]driver.Message{
		{ID: "fresh", Topic: "t", Time: time.Now()},
		{ID: "old", Topic: "t", Time: old},
	})
	var a stringArena
	for i, r := range recs {
		has := false
		for _, h := range r.Headers {
			has = has || h.Key == headerTime
		}
		// A fresh message may straddle a millisecond boundary; then it
		// carries the header, which is also right.
		if i == 1 && !has {
			t.Fatalf("a message from 2023 has no %s header", headerTime)
		}
		var m driver.Message
		fromRecord(r, &a, &m, "")
		if i == 1 && !m.Time.Equal(old) {
			t.Fatalf("old message: Time %v, want %v", m.Time, old)
		}
		if i == 0 && !has && !m.Time.Equal(r.Timestamp) {
			t.Fatalf("fresh message: Time %v, want the record timestamp %v", m.Time, r.Timestamp)
		}
	}
}
