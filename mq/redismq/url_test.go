package redismq

import (
	"errors"
	"net/url"
	"reflect"
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

// TestParseURLForSharing: the exported ParseURL gives the go-redis options
// of the very client mq.Open builds from the same URL, standalone and
// Cluster, and this package's Options; what mq.Open refuses, it refuses.
func TestParseURLForSharing(t *testing.T) {
	for _, raw := range []string{
		"redis://user:pw@localhost:6380/2?partitions=16&block=2s&pool_size=7&read_timeout=2s&dial_timeout=3s&write_timeout=4s" +
			"&min_idle_conns=2&max_idle_conns=5&pool_timeout=6s&conn_max_idle_time=1m&conn_max_lifetime=1h&protocol=2&client_name=orders&max_retries=2",
		"rediss://h:1/0?visibility_timeout=10s&heartbeat_interval=1s",
		"redis://a:1,b:2,c:3?partitions=4&pool_size=9&read_timeout=2s",
		"redis://a:1?cluster=true&addr=b:2&max_len=-1",
	} {
		u, _ := url.Parse(raw)
		want, wantOpts, err := parseURL(u)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		uo, opts, err := ParseURL(raw)
		if err != nil {
			t.Fatalf("ParseURL(%s): %v", raw, err)
		}
		if *opts != wantOpts {
			t.Errorf("%s: Options %+v, want %+v", raw, *opts, wantOpts)
		}
		got := redis.NewUniversalClient(uo)
		switch w := want.(type) {
		case *redis.Client:
			g, ok := got.(*redis.Client)
			if !ok {
				t.Errorf("%s: NewUniversalClient made a %T, mq.Open a *redis.Client", raw, got)
				break
			}
			if a, b := withoutFuncs(g.Options()), withoutFuncs(w.Options()); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: options differ from mq.Open's:\n got %+v\nwant %+v", raw, a, b)
			}
		case *redis.ClusterClient:
			g, ok := got.(*redis.ClusterClient)
			if !ok {
				t.Errorf("%s: NewUniversalClient made a %T, mq.Open a *redis.ClusterClient", raw, got)
				break
			}
			if a, b := withoutFuncs(g.Options()), withoutFuncs(w.Options()); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: options differ from mq.Open's:\n got %+v\nwant %+v", raw, a, b)
			}
		}
		got.Close()
		want.Close()
	}

	for raw, want := range map[string]string{
		"redis://h:1?partitions=0":                                "partitions",
		"redis://h:1?partitons=4":                                 "partitons",
		"redis://h:1?visibility_timeout=1s&heartbeat_interval=1s": "heartbeat_interval",
		"http://h:1":                 "scheme",
		"redis://h:1/%zz":            "invalid URL escape",
		"redis://a:1,b:2/3":          "database 0",
		"redis://h:1?pool_size=many": "pool_size",
	} {
		if _, _, err := ParseURL(raw); !errors.Is(err, driver.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%s): %v, want ErrBadURL mentioning %q", raw, err, want)
		}
	}
}

// withoutFuncs returns a copy of the options struct *p without what
// go-redis makes afresh for every client (dialers and hooks as closures,
// a RESP3 push processor), for comparison.
func withoutFuncs(p any) any {
	v := reflect.New(reflect.TypeOf(p).Elem()).Elem()
	v.Set(reflect.ValueOf(p).Elem())
	for i := range v.NumField() {
		f := v.Field(i)
		if (f.Kind() == reflect.Func || v.Type().Field(i).Name == "PushNotificationProcessor") && f.CanSet() {
			f.SetZero()
		}
	}
	return v.Interface()
}

// FuzzParseURLForSharing: any string gives options or an ErrBadURL, never
// a panic, and ParseURL accepts exactly what mq.Open's parser does.
func FuzzParseURLForSharing(f *testing.F) {
	for _, s := range []string{"redis://h:1?partitions=4&pool_size=3", "rediss://u:p@h:1/0?max_age=-1&max_len=-1", "redis://a:1,b:2?block=1s",
		"redis://h:1?cluster=true&addr=x:2", "redis://h:1?dial_timeout=xyz", "redis://h:1?visibility_timeout=2s&heartbeat_interval=1s", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		uo, _, err := ParseURL(s)
		if err != nil && !errors.Is(err, driver.ErrBadURL) {
			t.Fatalf("%q: %v does not wrap ErrBadURL", s, err)
		}
		u, perr := url.Parse(s)
		if perr != nil {
			if err == nil {
				t.Fatalf("%q: ParseURL accepted what url.Parse refuses", s)
			}
			return
		}
		rdb, _, oerr := parseURL(u)
		if oerr == nil {
			rdb.Close()
		}
		if (err == nil) != (oerr == nil) {
			t.Fatalf("%q: ParseURL says %v, mq.Open's parser %v", s, err, oerr)
		}
		if err == nil {
			redis.NewUniversalClient(uo).Close()
		}
	})
}
