package kafkamq_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

func kcat(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("kcat")
	if err != nil {
		testserver.Unavailable(t, "kcat is not installed (apt-get install kcat): %v", err)
	}
	return bin
}

// TestKcatReadsWhatKafkamqWrites: librdkafka (through kcat) sees the key,
// headers and payload that mq published, and the key's partition is the
// one librdkafka's own murmur2 partitioner picks.
func TestKcatReadsWhatKafkamqWrites(t *testing.T) {
	bin := kcat(t)
	k := testserver.StartKafka(t)
	ctx := context.Background()
	c := open(t, k)
	topic := "interop-out"
	m := &mq.Message{Topic: topic, Key: "order-42", Payload: []byte("payload with spaces"), Headers: map[string]string{"region": "eu-west"}}
	if err := c.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-C", "-b", k.Brokers[0], "-t", topic, "-o", "beginning", "-e", "-q",
		"-f", "%k|%h|%s|%p\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	line := strings.TrimSpace(string(out))
	parts := strings.Split(line, "|")
	if len(parts) != 4 || parts[0] != "order-42" || parts[2] != "payload with spaces" {
		t.Fatalf("kcat read %q", line)
	}
	for _, want := range []string{"region=eu-west", "mq-id=" + m.ID} {
		if !strings.Contains(parts[1], want) {
			t.Errorf("headers %q lack %q", parts[1], want)
		}
	}
	// librdkafka's murmur2 partitioner, asked for the same key, must pick
	// the partition our record landed in.
	probe := exec.Command(bin, "-P", "-b", k.Brokers[0], "-t", topic, "-K", ":", "-p", "-1", "-X", "partitioner=murmur2_random")
	probe.Stdin = strings.NewReader("order-42:probe\n")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "-C", "-b", k.Brokers[0], "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s %p\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	partOf := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			partOf[l[:i]] = l[i+1:]
		}
	}
	if partOf["probe"] == "" || partOf["probe"] != partOf["payload with spaces"] {
		t.Fatalf("key order-42 went to partition %q from mq but %q from librdkafka", partOf["payload with spaces"], partOf["probe"])
	}
}

// TestKafkamqReadsWhatKcatWrites: records produced by librdkafka reach a
// kafkamq subscriber with key, headers and payload intact.
func TestKafkamqReadsWhatKcatWrites(t *testing.T) {
	bin := kcat(t)
	k := testserver.StartKafka(t)
	ctx := context.Background()
	c := open(t, k)
	topic := "interop-in"
	got := make(chan *mq.Message, 1)
	sub, err := c.Subscribe(ctx, topic, "readers", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	cmd := exec.Command(bin, "-P", "-b", k.Brokers[0], "-t", topic, "-K", ":", "-H", "source=kcat", "-H", "unicode=värde")
	cmd.Stdin = bytes.NewReader([]byte("key-7:hello from librdkafka\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}
	select {
	case m := <-got:
		if m.Key != "key-7" || string(m.Payload) != "hello from librdkafka" || m.Headers["source"] != "kcat" || m.Headers["unicode"] != "värde" {
			t.Fatalf("received key %q payload %q headers %v", m.Key, m.Payload, m.Headers)
		}
		if !strings.HasPrefix(m.ID, topic+"/") {
			t.Fatalf("ID %q: a record without mq-id should be named topic/partition/offset", m.ID)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the record kcat produced never arrived")
	}
}
