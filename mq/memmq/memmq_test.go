package memmq_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func harness(t *testing.T, url string) mqtest.Harness {
	broker := func(t testing.TB) *memmq.Broker {
		var b *memmq.Broker
		c, err := mq.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !c.As(&b) {
			t.Fatal("As(**memmq.Broker) failed")
		}
		return b
	}
	return mqtest.Harness{
		URL: url,
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.Open(context.Background(), url, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Outage: func(t testing.TB) func() {
			b := broker(t)
			b.SetReachable(false)
			return func() { b.SetReachable(true) }
		},
		// A topic-level limit of 1 KiB, far below the client's 2 MiB.
		Refuse: func(t testing.TB, topic string, _ []string) *mq.Message {
			broker(t).SetTopicMaxMessageBytes(topic, 1<<10)
			return &mq.Message{Topic: topic, Key: "poison", Payload: make([]byte, 2<<10)}
		},
		MaxMessageBytes: 2 << 20,
	}
}

func TestConformance(t *testing.T) {
	mqtest.RunConformanceTests(t, harness(t, "mem://conformance?max_message_bytes=2097152"))
}

func TestURLErrors(t *testing.T) {
	ctx := context.Background()
	cases := map[string]string{
		"mem://x?partitons=3":        "unknown parameter",
		"mem://x?partitions=0":       "partitions",
		"mem://x?max_message_bytes=": "max_message_bytes",
		"mem://x/some/path":          "path",
		"nosuch://host":              "forgotten import?",
		"://bad":                     "bad URL",
	}
	for url, want := range cases {
		_, err := mq.Open(ctx, url)
		if !errors.Is(err, mq.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v; want ErrBadURL mentioning %q", url, err, want)
		}
	}
	if _, err := mq.Open(ctx, "nosuch://host"); !strings.Contains(err.Error(), "mem") {
		t.Errorf("unknown-scheme error does not list the registered schemes: %v", err)
	}
	c, err := mq.Open(ctx, "mem://urltest?partitions=3")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := mq.Open(ctx, "mem://urltest?partitions=4"); !errors.Is(err, mq.ErrBadURL) {
		t.Errorf("reopening a broker with other partitions: %v, want ErrBadURL", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering mem twice did not panic")
		}
	}()
	mq.Register(memmq.Scheme, nil)
}

func BenchmarkMemmq(b *testing.B) {
	mqtest.RunBenchmarks(b, mqtest.Harness{
		NewClient: func(t testing.TB, opts ...mq.Option) *mq.Client {
			c, err := mq.NewClient(memmq.New(memmq.NewBroker(nil)), opts...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	})
}

// BenchmarkRawDriverPublish1KiB calls the memmq connection directly, with
// no portable layer: the baseline for BenchmarkMemmq/Publish1KiB.
func BenchmarkRawDriverPublish1KiB(b *testing.B) {
	conn := memmq.New(memmq.NewBroker(nil))
	defer conn.Close()
	ctx := context.Background()
	// No group reads the topic, as in BenchmarkMemmq/Publish1KiB: the
	// broker copies each message and discards it.
	msgs := []driver.Message{{Topic: "raw", Key: "k", Payload: make([]byte, 1024)}}
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if err := conn.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzOpenURL: any mem:// URL opens or fails with ErrBadURL.
func FuzzOpenURL(f *testing.F) {
	for _, s := range []string{"mem://", "mem://a?partitions=2", "mem://a?max_message_bytes=-1", "mem://%zz", "mem://a?partitions=1&partitions=2", "mem://b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "mem://") {
			s = "mem://" + s
		}
		c, err := mq.Open(context.Background(), s)
		if err == nil {
			c.Close()
		} else if !errors.Is(err, mq.ErrBadURL) {
			t.Fatalf("Open(%q): %v does not wrap ErrBadURL", s, err)
		}
	})
}
