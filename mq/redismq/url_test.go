package redismq

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/mq/driver"
)

func TestParseURL(t *testing.T) {
	u, _ := url.Parse("redis://user:pw@localhost:6380/2?partitions=16&max_len=5000&max_age=1h&visibility_timeout=10s&heartbeat_interval=1s" +
		"&block=2s&read_count=64&ack_interval=50ms&max_message_bytes=4096&pool_size=7&read_timeout=2s")
	rdb, o, err := parseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	want := Options{Partitions: 16, MaxLen: 5000, MaxAge: time.Hour, VisibilityTimeout: 10 * time.Second, HeartbeatInterval: time.Second,
		Block: 2 * time.Second, ReadCount: 64, AckInterval: 50 * time.Millisecond, MaxMessageBytes: 4096}
	if o != want {
		t.Fatalf("parsed %+v, want %+v", o, want)
	}
	cl, ok := rdb.(*redis.Client)
	if !ok {
		t.Fatalf("client is %T, want *redis.Client", rdb)
	}
	ro := cl.Options()
	if ro.Addr != "localhost:6380" || ro.DB != 2 || ro.Username != "user" || ro.Password != "pw" || ro.PoolSize != 7 || ro.MaxRetries != 0 { // -1 (off) reads back as 0 once go-redis normalizes it
		t.Fatalf("go-redis options %+v", ro)
	}

	for _, raw := range []string{"redis://a:1,b:2,c:3?partitions=4", "redis://a:1?cluster=true&addr=b:2"} {
		u, _ := url.Parse(raw)
		rdb, _, err := parseURL(u)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if _, ok := rdb.(*redis.ClusterClient); !ok {
			t.Errorf("%s: client is %T, want *redis.ClusterClient", raw, rdb)
		}
		rdb.Close()
	}

	bad := map[string]string{
		"redis://h:1?partitions=0":           "partitions",
		"redis://h:1?partitions=5000":        "partitions",
		"redis://h:1?max_len=0":              "max_len",
		"redis://h:1?max_age=-5s":            "max_age",
		"redis://h:1?block=soon":             "block",
		"redis://h:1?visibility_timeout=-1s": "visibility_timeout",
		"redis://h:1?partitons=4":            "partitons",
		"redis://h:1?cluster=maybe":          "cluster",
		"redis://a,b:1":                      "host:port",
		"redis://a:1,b:2/3":                  "database 0",
		"redis://":                           "no host",
	}
	for raw, want := range bad {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		rdb, _, err := parseURL(u)
		if err == nil {
			rdb.Close()
		}
		if !errors.Is(err, driver.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrBadURL mentioning %q", raw, err, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := newConn(nil, &Options{VisibilityTimeout: time.Second, HeartbeatInterval: time.Second}); err == nil ||
		!strings.Contains(err.Error(), "HeartbeatInterval") {
		t.Fatalf("heartbeat as long as the visibility timeout: %v, want an error naming HeartbeatInterval", err)
	}
}

func TestKeys(t *testing.T) {
	k := topicKeys("orders", 3)
	if k.meta != "mq:{orders}:meta" || k.streams[2] != "mq:{orders/2}" || leaseKey(k.streams[2], "g") != "mq:{orders/2}:lease:g" {
		t.Fatalf("keys %+v", k)
	}
	// A "}" in a topic must not end the hash tag early, nor make two
	// topics share keys.
	a, b := topicKeys("a}b", 1), topicKeys(`a\)b`, 1)
	if a.streams[0] == b.streams[0] || strings.Count(a.streams[0], "}") != 1 {
		t.Fatalf("escaped keys %q and %q", a.streams[0], b.streams[0])
	}
	// FNV-1a, as documented: fixed values other clients can check against.
	for key, want := range map[string]int{"": 2166136261 % 8, "a": 0xe40c292c % 8} {
		if got := partitionOf(key, 8); got != want {
			t.Errorf("partitionOf(%q, 8) = %d, want %d", key, got, want)
		}
	}
}

// FuzzParseURL: any URL yields a client or an ErrBadURL, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://h:1?partitions=4", "rediss://u:p@h:1/0?max_age=-1&max_len=-1", "redis://a:1,b:2?block=1s",
		"redis://h:1?cluster=true&addr=x:2", "redis://h:1?dial_timeout=xyz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		rdb, _, err := parseURL(u)
		if err != nil {
			if !errors.Is(err, driver.ErrBadURL) {
				t.Fatalf("%q: %v does not wrap ErrBadURL", s, err)
			}
			return
		}
		rdb.Close()
	})
}

// FuzzDecode: any stream entry, including ones written by other tools,
// decodes into a delivery with an ID, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add("id", "m1", "time", "123", "h:traceparent", "00-abc")
	f.Add("payload", "x", "time", "not-a-number", "other", "field")
	f.Add("", "", "h:", "", "key", "k")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		r := &receiver{topic: "t"}
		p := &partition{stream: "mq:{t/0}"}
		var d driver.Delivery
		r.decode(&d, p, &redis.XMessage{ID: "1-1", Values: map[string]any{k1: v1, k2: v2, k3: v3}})
		if d.ID == "" || d.Topic != "t" {
			t.Fatalf("decoded %+v: no ID or topic", d)
		}
	})
}
