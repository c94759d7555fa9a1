package rocketmq

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

func TestParseURL(t *testing.T) {
	good := "rocketmq://10.0.0.1:9876;10.0.0.2:9876,ns3:9877?namespace=ns&producer_group=pg&instance=in&" +
		"access_key=ak&secret_key=sk&security_token=tok&send_timeout=2s&queues=8&create_topics=false&" +
		"consume_batch_size=16&pull_batch_size=64&max_message_bytes=2097152&suspend_interval=50ms&lock_interval=5s"
	u, err := url.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if strings.Join(c.nameServers, " ") != "10.0.0.1:9876 10.0.0.2:9876 ns3:9877" || o.Namespace != "ns" || o.ProducerGroup != "pg" ||
		o.Instance != "in" || o.Credentials.AccessKey != "ak" || o.Credentials.SecretKey != "sk" || o.Credentials.SecurityToken != "tok" ||
		o.SendTimeout != 2*time.Second || o.Queues != 8 || !o.NoCreateTopics || o.ConsumeBatchSize != 16 || o.PullBatchSize != 64 ||
		o.MaxMessageBytes != 2<<20 || o.SuspendInterval != 50*time.Millisecond || o.LockInterval != 5*time.Second {
		t.Fatalf("parsed %v %+v", c.nameServers, o)
	}
	u, _ = url.Parse("rocketmq://ak:sk@127.0.0.1:9876")
	if c, err := parseURL(u); err != nil || c.opts.Credentials.AccessKey != "ak" || c.opts.Credentials.SecretKey != "sk" {
		t.Fatalf("userinfo credentials: %+v, %v", c.opts.Credentials, err)
	}
	bad := map[string]string{
		"rocketmq://a:1?queus=4":                         `unknown parameter "queus"`,
		"rocketmq://a:1?queues=0":                        "queues",
		"rocketmq://a:1?queues=x":                        "queues",
		"rocketmq://a:1?consume_batch_size=1025":         "consume_batch_size",
		"rocketmq://a:1?pull_batch_size=-1":              "pull_batch_size",
		"rocketmq://a:1?max_message_bytes=10":            "max_message_bytes",
		"rocketmq://a:1?send_timeout=soon":               "send_timeout",
		"rocketmq://a:1?send_timeout=-1s":                "send_timeout",
		"rocketmq://a:1?create_topics=maybe":             "create_topics",
		"rocketmq://a:1?producer_group=":                 "producer_group",
		"rocketmq://a:1?access_key=ak":                   "both access_key and secret_key",
		"rocketmq://":                                    "no name server",
		"rocketmq://;":                                   "no name server",
		"rocketmq://a":                                   "host:port",
		"rocketmq://a:99999":                             "port",
		"rocketmq://a:1/topic":                           "path",
		"rocketmq://a:1?x=%zz":                           "query",
		"rocketmq://a:1?lock_interval=2h":                "lock_interval",
		"rocketmq://a:1?suspend_interval=0s":             "suspend_interval",
		"rocketmq://a:1;b:2?namespace=n&frobnicate=true": `unknown parameter "frobnicate"`,
	}
	for raw, want := range bad {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if _, err := parseURL(u); !errors.Is(err, driver.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrBadURL mentioning %q", raw, err, want)
		}
	}
}

// TestParseURLKeepsSecrets: no error quotes the secret key.
func TestParseURLKeepsSecrets(t *testing.T) {
	for _, raw := range []string{"rocketmq://a:1?secret_key=s3cr3t&queues=0", "rocketmq://ak:s3cr3t@a:1?bogus=1",
		"rocketmq://a:1?secret_key=s3cr3t%zz"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseURL(u); err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// FuzzParseURL: any URL yields a config or an ErrBadURL, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"rocketmq://127.0.0.1:9876", "rocketmq://a:1;b:2?queues=8&send_timeout=1s",
		"rocketmq://[::1]:9876,a:1?namespace=x", "rocketmq://ak:sk@a:1?max_message_bytes=99999999999",
		"rocketmq://a:1?create_topics=false&consume_batch_size=1024&pull_batch_size=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		c, err := parseURL(u)
		if err != nil {
			if !errors.Is(err, driver.ErrBadURL) {
				t.Fatalf("%q: %v does not wrap ErrBadURL", s, err)
			}
			return
		}
		if len(c.nameServers) == 0 {
			t.Fatalf("%q: parsed without a name server", s)
		}
		if err := c.opts.validate(); err != nil {
			t.Fatalf("%q: parsed options do not validate: %v", s, err)
		}
	})
}
