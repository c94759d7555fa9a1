//go:build !race

// Drives rocketmq-client-go, which has data races of its own (see
// mq/rocketmq/doc.go # Tests): built without -race only; scripts/test runs
// it in its RocketMQ step. The double's own code is race-checked by the
// raw-protocol tests (rocketmq_conn_test.go, rocketmq_fuzz_test.go).

package testserver

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// The client's own examples, built from the module unchanged, run
// against the double. They dial 127.0.0.1:9876, so the double's name
// server takes that port.

const examplesPkg = "github.com/apache/rocketmq-client-go/v2/examples/"

// buildExample builds one of the client's examples into dir.
func buildExample(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
	goBin, err := exec.LookPath("go")
	if err != nil {
		Unavailable(t, "the go command builds the client's examples: %v", err)
	}
	out, err := exec.Command(goBin, "build", "-o", bin, examplesPkg+name).CombinedOutput()
	if err != nil {
		t.Fatalf("build example %s: %v\n%s", name, err, out)
	}
	return bin
}

// example is a running example whose stdout lines are collected.
type example struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{}
	done  chan struct{}
}

func runExample(t *testing.T, bin string) *example {
	t.Helper()
	e := &example{cmd: exec.Command(bin), more: make(chan struct{}, 1), done: make(chan struct{})}
	e.cmd.Env = append(os.Environ(), "ROCKETMQ_GO_LOG_LEVEL=error")
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<16), 1<<22)
		for sc.Scan() {
			e.mu.Lock()
			e.lines = append(e.lines, sc.Text())
			e.mu.Unlock()
			select {
			case e.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { e.stop() })
	return e
}

// stop kills the example (by its PID) and waits for it.
func (e *example) stop() {
	e.cmd.Process.Kill()
	<-e.done
	e.cmd.Wait()
}

func (e *example) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.lines, "\n")
}

// waitOutput waits until cond holds over the example's output.
func (e *example) waitOutput(t *testing.T, what string, cond func(string) bool) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for !cond(e.output()) {
		select {
		case <-e.more:
		case <-e.done:
			if !cond(e.output()) {
				t.Fatalf("example ended before %s; output:\n%s", what, e.output())
			}
		case <-deadline.C:
			t.Fatalf("gave up after %v waiting for %s; output:\n%s", patience, what, e.output())
		}
	}
}

// startRmqDoubleAt9876 starts the double with its name server on the
// examples' port.
func startRmqDoubleAt9876(t *testing.T, opts ...RocketMQOption) *RocketMQ {
	t.Helper()
	t.Cleanup(func() { noDoubleGoroutines(t) })
	r, err := startRocketMQ("127.0.0.1:9876", opts...)
	if err != nil {
		Unavailable(t, "the client's examples need port 9876: %v", err)
	}
	t.Cleanup(r.close)
	return r
}

func TestRocketMQClientExamples(t *testing.T) {
	dir := t.TempDir()
	bins := map[string]string{}
	for _, name := range []string{"producer/simple", "consumer/simple", "consumer/orderly", "producer/batch", "producer/tag", "producer/transaction"} {
		bins[name] = buildExample(t, dir, name)
	}
	r := startRmqDoubleAt9876(t, RocketMQTransactionCheck(200*time.Millisecond))

	t.Run("producer/simple then consumer/simple", func(t *testing.T) {
		p := runExample(t, bins["producer/simple"])
		<-p.done
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("producer/simple: %v\n%s", err, p.output())
		}
		if n := strings.Count(p.output(), "send message success"); n != 10 {
			t.Fatalf("producer/simple sent %d of 10:\n%s", n, p.output())
		}
		c := runExample(t, bins["consumer/simple"])
		c.waitOutput(t, "all ten messages", func(out string) bool {
			for i := range 10 {
				if !strings.Contains(out, fmt.Sprintf("body=Hello RocketMQ Go Client! %d,", i)) {
					return false
				}
			}
			return true
		})
		c.stop()
	})

	t.Run("producer/batch and producer/tag", func(t *testing.T) {
		for _, name := range []string{"producer/batch", "producer/tag"} {
			p := runExample(t, bins[name])
			<-p.done
			if err := p.cmd.Wait(); err != nil || !strings.Contains(p.output(), "send message success") ||
				strings.Contains(p.output(), "send message error") {
				t.Fatalf("%s: %v\n%s", name, err, p.output())
			}
		}
		tags := map[string]bool{}
		for _, s := range r.Stored("test") {
			tags[s.Properties["TAGS"]] = true
		}
		if !tags["TagA"] || !tags["TagB"] || !tags["TagC"] {
			t.Errorf("tagged messages not stored with their tags: %v", tags)
		}
	})

	t.Run("consumer/orderly", func(t *testing.T) {
		// The client has no orderly producer example; send with a queue
		// selector through its API, as an orderly producer does.
		p := newProducer(t, r, producer.WithQueueSelector(producer.NewManualQueueSelector()))
		for i := range 12 {
			q := i % 3
			m := primitive.NewMessage("TopicTest", []byte(fmt.Sprintf("order-%d-step-%d", q, i/3)))
			m.Queue = &primitive.MessageQueue{Topic: "TopicTest", BrokerName: rmqBrokerName, QueueId: q}
			if _, err := p.SendSync(context.Background(), m); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
		c := runExample(t, bins["consumer/orderly"])
		c.waitOutput(t, "every step of every order, in order", func(out string) bool {
			for q := range 3 {
				last := -1
				for s := range 4 {
					i := strings.Index(out, fmt.Sprintf("body=order-%d-step-%d,", q, s))
					if i < 0 || i < last {
						return false
					}
					last = i
				}
			}
			return true
		})
		c.stop()
	})

	t.Run("producer/transaction", func(t *testing.T) {
		// Every local transaction answers "unknown"; the broker's check-back
		// then commits messages 2, 5, 8, rolls back 0, 3, 6, 9 and leaves
		// the rest unknown.
		p := runExample(t, bins["producer/transaction"])
		p.waitOutput(t, "the commits and rollbacks", func(out string) bool {
			return strings.Count(out, "checkLocalTransaction COMMIT_MESSAGE") >= 3 &&
				strings.Count(out, "checkLocalTransaction ROLLBACK_MESSAGE") >= 4
		})
		WaitFor(t, patience, "the committed messages", func() bool { return len(r.Stored("TopicTest5")) == 3 })
		got := map[string]bool{}
		for _, s := range r.Stored("TopicTest5") {
			got[string(s.Body)] = true
		}
		for _, i := range []int{2, 5, 8} {
			if !got[fmt.Sprintf("Hello RocketMQ again %d", i)] {
				t.Errorf("committed message %d missing; stored %v", i, got)
			}
		}
		p.stop()
	})
}
