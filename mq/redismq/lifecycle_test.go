package redismq_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// slowParams make reads block, and heartbeats come, far later than any
// test waits: what these tests see happen can only be the work of Close
// ending blocked reads and of the members' notices, never of a timer
// running out. A stranded entry would wait out the visibility timeout,
// which no test waits for either.
const slowParams = "block=10m&visibility_timeout=10m&heartbeat_interval=5m&ack_interval=20ms"

func noop(context.Context, *mq.Message) error { return nil }

// clientsOf lists the server's clients (CLIENT LIST), each as its fields.
func clientsOf(t *testing.T, rdb *redis.Client) []map[string]string {
	t.Helper()
	out, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var cs []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		c := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			c[k] = v
		}
		cs = append(cs, c)
	}
	return cs
}

// blockedReads counts the clients blocked in XREADGROUP on the server.
func blockedReads(t *testing.T, rdb *redis.Client) int {
	n := 0
	for _, c := range clientsOf(t, rdb) {
		if c["cmd"] == "xreadgroup" && strings.Contains(c["flags"], "b") {
			n++
		}
	}
	return n
}

// subscribers counts the clients subscribed to a Pub/Sub channel.
func subscribers(t *testing.T, rdb *redis.Client) int {
	n := 0
	for _, c := range clientsOf(t, rdb) {
		if c["sub"] != "" && c["sub"] != "0" {
			n++
		}
	}
	return n
}

// within runs f in a goroutine and fails t unless it returns within the
// test's patience.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	var done atomic.Bool
	go func() { f(); done.Store(true) }()
	waitFor(t, what, done.Load)
}

// TestCloseEndsBlockedReads: Close of an idle member ends its readers'
// blocked XREADGROUPs (block is 10 minutes here) and leaves no client
// blocked on the server and no connection of a shared pool in use.
func TestCloseEndsBlockedReads(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rawClient(t, r.Addr)
	shared := redis.NewClient(&redis.Options{Addr: r.Addr, PoolSize: 32}) // above the 12 blocked reads, on any machine
	defer shared.Close()
	conn, err := redismq.New(shared, &redismq.Options{Partitions: 4, Block: 10 * time.Minute, VisibilityTimeout: 10 * time.Minute, HeartbeatInterval: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mq.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	subs := make([]*mq.Subscription, 3)
	for i := range subs {
		if subs[i], err = c.Subscribe(context.Background(), "idle"+strconv.Itoa(i), "g", noop); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every partition's read blocked on the server", func() bool { return blockedReads(t, rdb) == 12 })
	within(t, "Subscription.Close", func() {
		if err := subs[0].Close(); err != nil {
			t.Error(err)
		}
	})
	if n := blockedReads(t, rdb); n != 8 {
		t.Errorf("after one Subscription.Close %d reads are blocked, want the other two's 8", n)
	}
	within(t, "Client.Close", func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	if n := blockedReads(t, rdb); n != 0 {
		t.Errorf("after Client.Close %d reads are still blocked on the server", n)
	}
	if s := shared.PoolStats(); s.TotalConns != s.IdleConns {
		t.Errorf("after Close %d of the caller's pooled connections are in use", s.TotalConns-s.IdleConns)
	}
	if err := shared.Ping(context.Background()).Err(); err != nil {
		t.Errorf("Close of a client built on the caller's go-redis client closed it: %v", err)
	}
}

// TestInterruptedReadHandsBackWhatItFetched: the server serves a blocked
// read just before the UNBLOCK of a closing member arrives (the hook
// delivers an entry to it and waits until it is pending for the member).
// The reply arrives whole and the entry is handed back: the next member
// gets it at once, as attempt 1, instead of waiting out the visibility
// timeout.
func TestInterruptedReadHandsBackWhatItFetched(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	url := r.URL + "?partitions=1&" + slowParams
	rdb := rawClient(t, r.Addr)
	pub := open(t, url)
	var once sync.Once
	var served atomic.Bool
	redismq.SetTestHookUnblock(func(stream string) {
		once.Do(func() {
			if err := pub.Publish(context.Background(), &mq.Message{Topic: "race", Key: "k", Payload: []byte("caught")}); err != nil {
				t.Error(err)
				return
			}
			waitFor(t, "the blocked read to be served", func() bool { return pendingOf(t, rdb, "race") == 1 })
			served.Store(true)
		})
	})
	defer redismq.SetTestHookUnblock(nil)
	first, err := open(t, url).Subscribe(context.Background(), "race", "g", func(context.Context, *mq.Message) error {
		t.Error("the closing member ran its handler")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the read blocked", func() bool { return blockedReads(t, rdb) == 1 })
	within(t, "Close", func() { first.Close() })
	if !served.Load() {
		t.Fatal("the hook did not run: no UNBLOCK was sent")
	}
	got := make(chan *mq.Message, 1)
	next, err := open(t, url).Subscribe(context.Background(), "race", "g", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	var m *mq.Message
	waitFor(t, "the next member to get the entry", func() bool {
		select {
		case m = <-got:
			return true
		default:
			return false
		}
	})
	if string(m.Payload) != "caught" || m.Attempt != 1 {
		t.Errorf("got %q as attempt %d, want \"caught\" as attempt 1", m.Payload, m.Attempt)
	}
}

// TestNothingLostAcrossClosesUnderLoad: members join and close one after
// another while messages are published. Every message is handled, in key
// order, none as a second attempt (WithMaxAttempts(1): nothing is
// dead-lettered), and nothing is left pending. Reads block for 10 minutes
// and a stranded entry would wait out a 10-minute visibility timeout: only
// interrupted reads and handed-back entries let the test end.
func TestNothingLostAcrossClosesUnderLoad(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	url := r.URL + "?partitions=4&read_count=16&" + slowParams
	rdb := rawClient(t, r.Addr)
	const topic, keys, perKey = "churn", 16, 150
	var dlq atomic.Int32
	watch, err := open(t, url).Subscribe(context.Background(), topic+".dlq", "ops", func(context.Context, *mq.Message) error {
		dlq.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	oc := mqtest.NewOrderChecker()
	member := func() *mq.Client {
		c := open(t, url)
		within(t, "a member's Subscribe", func() {
			if _, err := c.Subscribe(context.Background(), topic, "g", oc.Handle, mq.WithMaxAttempts(1), mq.WithPrefetch(32)); err != nil {
				t.Error(err)
			}
		})
		return c
	}
	members := []*mq.Client{member()}
	pub := open(t, url)
	published := make(chan error, 1)
	var sent atomic.Int64
	go func() {
		for i := range perKey {
			for k := range keys {
				m := &mq.Message{Topic: topic, Key: "key-" + strconv.Itoa(k), Payload: []byte(strconv.Itoa(i))}
				if err := pub.Publish(context.Background(), m); err != nil {
					published <- err
					return
				}
				sent.Add(1)
			}
		}
		published <- nil
	}()
	for round := 1; round <= 6; round++ {
		waitFor(t, "more messages published", func() bool { return sent.Load() >= int64(round*keys*perKey/8) })
		members = append(members, member())
		if round%2 == 0 { // a member leaves every other round
			within(t, "a member's Close", func() {
				if err := members[0].Close(); err != nil {
					t.Error(err)
				}
			})
			members = members[1:]
		}
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message handled in order", func() bool { return oc.Done(keys * perKey) })
	oc.Check(t)
	if n := dlq.Load(); n > 0 {
		t.Errorf("%d messages dead-lettered: a Close counted as an attempt", n)
	}
	waitFor(t, "nothing pending", func() bool { return pendingOf(t, rdb, topic) == 0 })
}

// leases returns the owner of each partition lease of topic's group g.
func leases(t *testing.T, rdb *redis.Client, topic string, n int) []string {
	t.Helper()
	owners := make([]string, n)
	for p := range owners {
		v, err := rdb.Get(context.Background(), "mq:{"+topic+"/"+strconv.Itoa(p)+"}:lease:g").Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		owners[p] = v
	}
	return owners
}

// keyFor returns a key that maps to partition p of n.
func keyFor(p, n int) string {
	for i := 0; ; i++ {
		if k := "k" + strconv.Itoa(i); partitionOf(k, n) == p {
			return k
		}
	}
}

// TestJoinAndLeaveHandOverAtOnce: with heartbeats 5 minutes apart, a
// second member's Subscribe returns owning its share of the partitions,
// handed over by the first member, which gives up exactly those and keeps
// the rest; each then handles its own partitions' messages. When the
// second leaves, the first takes its partitions back and handles their
// messages. None of it waits for a heartbeat.
func TestJoinAndLeaveHandOverAtOnce(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	const n = 8
	url := r.URL + "?partitions=" + strconv.Itoa(n) + "&" + slowParams
	rdb := rawClient(t, r.Addr)
	var mu sync.Mutex
	revoked := map[string][]string{} // member -> streams it started giving up
	redismq.SetTestHookRevoke(func(member, stream string) {
		mu.Lock()
		defer mu.Unlock()
		revoked[member] = append(revoked[member], stream)
	})
	defer redismq.SetTestHookRevoke(nil)

	type seen struct{ who, key string }
	handled := make(chan seen, 100)
	handler := func(who string) mq.Handler {
		return func(_ context.Context, m *mq.Message) error {
			handled <- seen{who, m.Key}
			return nil
		}
	}
	pub := open(t, url)
	a, err := open(t, url).Subscribe(context.Background(), "j", "g", handler("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := leases(t, rdb, "j", n)
	nameA := before[0]
	for p, o := range before {
		if o != nameA {
			t.Fatalf("alone, the first member does not own partition %d: leases %v", p, before)
		}
	}

	var b *mq.Subscription
	within(t, "the second member's Subscribe", func() {
		b, err = open(t, url).Subscribe(context.Background(), "j", "g", handler("b"))
	})
	if err != nil {
		t.Fatal(err)
	}
	after := leases(t, rdb, "j", n)
	var movedStreams []string
	owner := make([]string, n)
	for p, o := range after {
		switch o {
		case nameA:
			owner[p] = "a"
		case "":
			t.Fatalf("partition %d has no owner after the join: %v", p, after)
		default:
			owner[p] = "b"
			movedStreams = append(movedStreams, "mq:{j/"+strconv.Itoa(p)+"}")
		}
	}
	if len(movedStreams) != n/2 {
		t.Errorf("the second member owns %d partitions, want its share %d: %v", len(movedStreams), n/2, after)
	}
	mu.Lock()
	if got := strings.Join(revoked[nameA], " "); got != strings.Join(movedStreams, " ") {
		t.Errorf("the first member gave up %q, want exactly the moved partitions %q", got, movedStreams)
	}
	mu.Unlock()

	expect := func(phase string, owner []string) {
		t.Helper()
		want := map[string]string{}
		for p := range n {
			k := keyFor(p, n)
			want[k] = owner[p]
			if err := pub.Publish(context.Background(), &mq.Message{Topic: "j", Key: k, Payload: []byte(phase)}); err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			var s seen
			waitFor(t, phase+": a message handled", func() bool {
				select {
				case s = <-handled:
					return true
				default:
					return false
				}
			})
			if want[s.key] != s.who {
				t.Errorf("%s: key %s handled by %s, want %s", phase, s.key, s.who, want[s.key])
			}
		}
	}
	expect("after the join", owner)

	within(t, "the second member's Close", func() { b.Close() })
	waitFor(t, "the first member to own every partition again", func() bool {
		for _, o := range leases(t, rdb, "j", n) {
			if o != nameA {
				return false
			}
		}
		return true
	})
	all := make([]string, n)
	for p := range all {
		all[p] = "a"
	}
	expect("after the leave", all)
}

// TestConnectionsHeld: what a subscription holds on the server, as the
// package doc counts it: one connection blocked in XREADGROUP per
// partition it owns (from the client's pool, only while blocked) and one
// Pub/Sub connection for the group's notices (outside the pool). Two
// members of a group share the partitions, so they block as many reads as
// one.
func TestConnectionsHeld(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	const n = 4
	url := r.URL + "?partitions=" + strconv.Itoa(n) + "&" + slowParams
	rdb := rawClient(t, r.Addr)
	c := open(t, url)
	first, err := c.Subscribe(context.Background(), "conns", "g", noop)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one blocked read per partition and one subscriber", func() bool {
		return blockedReads(t, rdb) == n && subscribers(t, rdb) == 1
	})
	second, err := c.Subscribe(context.Background(), "conns", "g", noop)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "still one blocked read per partition, and two subscribers", func() bool {
		return blockedReads(t, rdb) == n && subscribers(t, rdb) == 2
	})
	within(t, "Close", func() { first.Close(); second.Close() })
	if b, s := blockedReads(t, rdb), subscribers(t, rdb); b != 0 || s != 0 {
		t.Errorf("after Close: %d blocked reads and %d subscribers, want none", b, s)
	}
}
