package redismq_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	"github.com/groundwork-go/groundwork/resilience"
)

const patience = 2 * time.Minute

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testserver.WaitFor(t, patience, what, cond)
}

func open(t *testing.T, url string, opts ...mq.Option) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rawClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// The child process of TestConsumerSIGKILL: a group member that records
// every message it handled in a Redis set, slowly, until it is killed.
const childEnv = "GROUNDWORK_REDISMQ_CHILD"

func runChild() {
	url, topic := os.Getenv("CHILD_URL"), os.Getenv("CHILD_TOPIC")
	c, err := mq.Open(context.Background(), url)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	opts, _ := redis.ParseURL(strings.SplitN(url, "?", 2)[0])
	rdb := redis.NewClient(opts)
	_, err = c.Subscribe(context.Background(), topic, "g", func(ctx context.Context, m *mq.Message) error {
		time.Sleep(5 * time.Millisecond)
		return rdb.SAdd(ctx, "child-handled", m.ID).Err()
	}, mq.WithConcurrency(2))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	select {} // until SIGKILL
}

// TestConsumerSIGKILL kills a member process that holds fetched,
// unacknowledged entries. The survivor must take its partitions over once
// its leases expire and handle every entry it left pending (XCLAIM),
// so that every message is handled by one of the two.
func TestConsumerSIGKILL(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	url := r.URL + "?" + testParams
	rdb := rawClient(t, r.Addr)
	topic := "sigkill"

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1", "CHILD_URL="+url, "CHILD_TOPIC="+topic)
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child: %q, %v", line, err)
	}

	// The survivor joins and takes half the partitions from the live
	// child before Subscribe returns.
	var mu sync.Mutex
	survivor := map[string]int{}
	pub := open(t, url)
	sub, err := pub.Subscribe(context.Background(), topic, "g", func(_ context.Context, m *mq.Message) error {
		mu.Lock()
		defer mu.Unlock()
		survivor[m.ID]++
		return nil
	}, mq.WithConcurrency(8))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	const n = 2000
	var sent []*mq.Message
	for i := range n {
		sent = append(sent, &mq.Message{Topic: topic, Key: "k" + strconv.Itoa(i%50), Payload: []byte(strconv.Itoa(i))})
	}
	if err := pub.Publish(context.Background(), sent...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to handle some messages", func() bool { return rdb.SCard(context.Background(), "child-handled").Val() >= 50 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	held := heldBy(t, rdb, topic, "g") // the entries the dead member held
	t.Logf("the child died with %d entries pending in the group", len(held))
	if len(held) == 0 {
		t.Fatal("the child held no pending entries when killed: the test exercised nothing")
	}

	waitFor(t, "every message handled by the child or the survivor", func() bool {
		handled, _ := rdb.SMembers(context.Background(), "child-handled").Result()
		mu.Lock()
		defer mu.Unlock()
		all := len(survivor)
		for _, id := range handled {
			if survivor[id] == 0 {
				all++
			}
		}
		return all == n
	})
	mu.Lock()
	for id := range held {
		if survivor[id] == 0 {
			t.Errorf("message %s, pending at the dead member, never reached the survivor", id)
		}
	}
	mu.Unlock()
	waitFor(t, "the group to have nothing pending", func() bool {
		return pendingOf(t, rdb, topic) == 0
	})
	// The dead member's consumer is gone from every partition's group.
	for p := range 8 {
		cs, err := rdb.XInfoConsumers(context.Background(), "mq:{"+topic+"/"+strconv.Itoa(p)+"}", "g").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 {
			t.Errorf("partition %d still lists %d consumers: %+v", p, len(cs), cs)
		}
	}
	mu.Lock()
	dups := 0
	for _, k := range survivor {
		dups += k - 1
	}
	mu.Unlock()
	handled, _ := rdb.SMembers(context.Background(), "child-handled").Result()
	for _, id := range handled {
		mu.Lock()
		if survivor[id] > 0 {
			dups++
		}
		mu.Unlock()
	}
	t.Logf("%d of %d messages were handled twice (at-least-once); the survivor claimed %d", dups, n, len(held))
}

// heldBy returns the message IDs of the entries pending in group on the
// topic's partitions: those the dead member held, and those the survivor
// has in flight.
func heldBy(t *testing.T, rdb *redis.Client, topic, group string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	n, err := rdb.Get(ctx, "mq:{"+topic+"}:meta").Int()
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for p := range n {
		stream := "mq:{" + topic + "/" + strconv.Itoa(p) + "}"
		pend, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: 100000}).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pend {
			xs, err := rdb.XRange(ctx, stream, e.ID, e.ID).Result()
			if err != nil || len(xs) != 1 {
				t.Fatalf("entry %s: %v %v", e.ID, xs, err)
			}
			if id, _ := xs[0].Values["id"].(string); id != "" {
				held[id] = true
			}
		}
	}
	return held
}

// pendingOf sums the group's pending entries over the topic's partitions.
func pendingOf(t *testing.T, rdb *redis.Client, topic string) int64 {
	t.Helper()
	n, err := rdb.Get(context.Background(), "mq:{"+topic+"}:meta").Int()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for p := range n {
		s, err := rdb.XPending(context.Background(), "mq:{"+topic+"/"+strconv.Itoa(p)+"}", "g").Result()
		if err != nil {
			t.Fatal(err)
		}
		total += s.Count
	}
	return total
}

// TestDeliveryCountDeadLetters: an entry whose attempts reached the
// group's max (the members that claimed it died handling it) goes to the
// dead-letter topic without running the handler again.
func TestDeliveryCountDeadLetters(t *testing.T) {
	url := testserver.StartRedis(t, nil).URL + "?" + testParams
	topic := "poison"
	collector := open(t, url)
	var dead atomic.Pointer[mq.Message]
	dlq, err := collector.Subscribe(context.Background(), topic+".dlq", "ops", func(_ context.Context, m *mq.Message) error {
		dead.Store(m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()

	doomed := open(t, url)
	var got atomic.Bool
	if _, err := doomed.Subscribe(context.Background(), topic, "g", func(ctx context.Context, _ *mq.Message) error {
		got.Store(true)
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := collector.Publish(context.Background(), &mq.Message{Topic: topic, ID: "poison-1", Key: "k", Payload: []byte("boom")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the doomed member to take the message", got.Load)
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	_ = doomed.Shutdown(expired) // abandons the handler: the entry stays pending, delivered once
	// The first member that died holding it may never have started it:
	// that one is not counted. A second one, which claimed it, is.
	doomed = open(t, url)
	got.Store(false)
	if _, err := doomed.Subscribe(context.Background(), topic, "g", func(ctx context.Context, m *mq.Message) error {
		if m.Attempt != 1 {
			t.Errorf("the first claim after a death: attempt %d, want 1", m.Attempt)
		}
		got.Store(true)
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second doomed member to claim the message", got.Load)
	_ = doomed.Shutdown(expired)

	var calls atomic.Int32
	next := open(t, url)
	sub, err := next.Subscribe(context.Background(), topic, "g", func(context.Context, *mq.Message) error {
		calls.Add(1)
		return nil
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, "the message on the dead-letter topic", func() bool { return dead.Load() != nil })
	m := dead.Load()
	if m.ID != "poison-1" || string(m.Payload) != "boom" || m.Headers[mq.HeaderDLQAttempts] != "1" ||
		!strings.Contains(m.Headers[mq.HeaderDLQError], "delivered 2 times") {
		t.Fatalf("dead letter %+v", m)
	}
	if c := calls.Load(); c != 0 {
		t.Fatalf("the handler ran %d times on a message past its attempts", c)
	}
}

// TestServerRestart restarts redis-server (AOF, appendfsync everysec)
// while a publisher with the outage buffer keeps publishing: nothing is
// lost and every key's order holds at the consumer.
func TestServerRestart(t *testing.T) {
	r := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true})
	url := r.URL + "?" + testParams
	topic := "restart"
	oc := mqtest.NewOrderChecker()
	sub, err := open(t, url).Subscribe(context.Background(), topic, "g", oc.Handle, mq.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pub := open(t, url, mq.WithOutageBuffer(t.TempDir()),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxAttempts: 3}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 50 * time.Millisecond}))

	const keys, perKey = 20, 150
	stopped := make(chan struct{})
	published := make(chan error, 1)
	var sentCount atomic.Int64
	go func() {
		var err error
		defer func() { published <- err }()
		for i := range perKey {
			if i == perKey/3 {
				<-stopped // the rest is published while the server is down or restarting
			}
			for k := range keys {
				m := &mq.Message{Topic: topic, Key: "key-" + strconv.Itoa(k), Payload: []byte(strconv.Itoa(i))}
				if err = pub.Publish(context.Background(), m); err != nil {
					return
				}
				sentCount.Add(1)
			}
		}
	}()
	waitFor(t, "a third of the messages published", func() bool { return sentCount.Load() >= keys*perKey/3 })
	r.Stop()
	close(stopped)
	waitFor(t, "the publisher to buffer during the outage", func() bool { return pub.Buffered() > 0 })
	r.Restart(t)
	if err := <-published; err != nil {
		t.Fatalf("publish during the restart: %v", err)
	}
	waitFor(t, "every message in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	if got := oc.Handled(); got != keys*perKey {
		t.Fatalf("handled %d of %d messages", got, keys*perKey)
	}
}

// TestRetention: streams are capped by MAXLEN ~ on every append and
// trimmed by age (MINID ~), so they never grow without bound.
func TestRetention(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rawClient(t, r.Addr)
	ctx := context.Background()

	capped := open(t, r.URL+"?partitions=1&max_len=100")
	for range 20 {
		var batch []*mq.Message
		for range 100 {
			batch = append(batch, &mq.Message{Topic: "capped", Payload: []byte("x")})
		}
		if err := capped.Publish(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.XLen(ctx, "mq:{capped/0}").Val(); n < 100 || n > 300 {
		t.Fatalf("max_len=100 after 2000 appends: stream holds %d entries, want about 100", n)
	}

	// An old topic: its first 150 entries date from 1970.
	rdb.Set(ctx, "mq:{aged}:meta", 1, 0)
	for i := 1; i <= 150; i++ {
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: "mq:{aged/0}", ID: "1-" + strconv.Itoa(i), Values: []string{"payload", "old"}})
	}
	aged := open(t, r.URL+"?max_len=-1&max_age=1h")
	if err := aged.Publish(ctx, &mq.Message{Topic: "aged", Payload: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	first, err := rdb.XRangeN(ctx, "mq:{aged/0}", "-", "+", 1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 || first[0].ID == "1-1" {
		t.Fatalf("max_age=1h left entries from 1970 in place: first entry %v", first)
	}
	if n := rdb.XLen(ctx, "mq:{aged/0}").Val(); n > 51 {
		t.Fatalf("after the age trim %d entries remain, want at most the 50 of a partial node and the new one", n)
	}
	last, _ := rdb.XRevRangeN(ctx, "mq:{aged/0}", "+", "-", 1).Result()
	if len(last) != 1 || last[0].Values["payload"] != "new" {
		t.Fatalf("the new entry is missing: %v", last)
	}
}
