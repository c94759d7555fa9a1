//go:build !race

package rocketmq_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/mqtest"
	"github.com/groundwork-go/groundwork/mq/rocketmq"
)

// longLock is the double's queue-lock lifetime in the hand-over tests:
// far longer than they wait, so a queue moves only if its old owner
// unlocks it (the code before the hand-over waited for the lock to lapse).
const longLock = 10 * time.Minute

// handOverDeadline bounds every wait of the hand-over tests: a new
// owner's next rebalance (20 s, fixed in the client) with room for a
// loaded machine, and well under longLock.
const handOverDeadline = 90 * time.Second

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(handOverDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", handOverDeadline, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishSeq publishes payloads from..to-1 on each of keys keys, as
// mqtest.PublishSequenced does for 0..perKey-1.
func publishSeq(t *testing.T, c *mq.Client, topic string, keys, from, to int) {
	t.Helper()
	var batch []*mq.Message
	for i := from; i < to; i++ {
		for k := range keys {
			batch = append(batch, &mq.Message{Topic: topic, Key: "key-" + strconv.Itoa(k), Payload: []byte(strconv.Itoa(i))})
		}
	}
	if err := c.Publish(context.Background(), batch...); err != nil {
		t.Fatal(err)
	}
}

func openClient(t *testing.T, url string) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// handOverSetup is a double with long locks, a publisher, and member A
// of group "hand" on topic "handover", which has handled a first round
// of messages on every queue; A's handler runs hold first.
type handOverSetup struct {
	srv     *testserver.RocketMQ
	url     string
	pub     *mq.Client
	oc      *mqtest.OrderChecker
	byB     atomic.Int64
	members func() []string
}

const (
	hoTopic, hoGroup = "handover", "hand"
	hoKeys, hoRound  = 16, 10
)

func startHandOver(t *testing.T, hold func(m *mq.Message)) *handOverSetup {
	s := &handOverSetup{srv: testserver.StartRocketMQ(t, testserver.RocketMQLockExpiry(longLock)), oc: mqtest.NewOrderChecker()}
	s.url = "rocketmq://" + s.srv.NameServer() + "?" + testParams
	s.members = func() []string { m := s.srv.ConsumerGroupMembers(hoGroup); slices.Sort(m); return m }
	s.pub = openClient(t, s.url)
	a, err := openClient(t, s.url).Subscribe(context.Background(), hoTopic, hoGroup, func(ctx context.Context, m *mq.Message) error {
		hold(m)
		return s.oc.Handle(ctx, m)
	}, mq.WithConcurrency(hoKeys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	publishSeq(t, s.pub, hoTopic, hoKeys, 0, hoRound)
	waitUntil(t, "member A handles the first round", func() bool { return s.oc.Done(hoKeys * hoRound) })
	a0 := s.members()
	if len(a0) != 1 {
		t.Fatalf("members %v, want A alone", a0)
	}
	for q := range 4 {
		if h := s.srv.LockHolder(hoGroup, hoTopic, q); h != a0[0] {
			t.Fatalf("queue %d locked by %q, want A (%s)", q, h, a0[0])
		}
	}
	return s
}

// joinB subscribes member B, counting what it handles.
func (s *handOverSetup) joinB(t *testing.T) {
	b, err := openClient(t, s.url).Subscribe(context.Background(), hoTopic, hoGroup, func(ctx context.Context, m *mq.Message) error {
		s.byB.Add(1)
		return s.oc.Handle(ctx, m)
	}, mq.WithConcurrency(hoKeys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	waitUntil(t, "B in the group", func() bool { return len(s.members()) == 2 })
}

// checkSplit asserts that each member holds two queue locks and that B
// handled messages, per-key order kept and nothing delivered twice.
func (s *handOverSetup) checkSplit(t *testing.T) { s.checkSplitUpTo(t, 0) }

// checkSplitUpTo is checkSplit allowing up to dups redeliveries.
func (s *handOverSetup) checkSplitUpTo(t *testing.T, dups int64) {
	t.Helper()
	held := map[string]int{}
	for q := range 4 {
		held[s.srv.LockHolder(hoGroup, hoTopic, q)]++
	}
	for _, m := range s.members() {
		if held[m] != 2 {
			t.Errorf("member %s holds %d queue locks, want 2 (locks: %v)", m, held[m], held)
		}
	}
	if s.byB.Load() == 0 {
		t.Error("B handled nothing")
	}
	s.oc.Check(t)
	if d := s.oc.Redelivered(); d > dups {
		t.Errorf("%d redeliveries, want at most %d: the hand-over commits the offset behind what A acknowledged", d, dups)
	}
}

// TestHandOverOnJoin: a member joining a group whose queues one member
// holds gets its share within a rebalance, not after the broker's lock
// lifetime: the old owner unlocks the queues it gave up.
func TestHandOverOnJoin(t *testing.T) {
	s := startHandOver(t, func(*mq.Message) {})
	s.joinB(t)
	publishSeq(t, s.pub, hoTopic, hoKeys, hoRound, 3*hoRound)
	waitUntil(t, "every message handled, some by B", func() bool {
		return s.oc.Done(hoKeys*3*hoRound) && s.byB.Load() > 0
	})
	s.checkSplit(t)
}

// TestHandOverWaitsForInFlight: a queue given up while A still handles a
// batch of it stays locked by A until that batch is settled; B gets it
// after, from past the batch.
func TestHandOverWaitsForInFlight(t *testing.T) {
	gaveUp := make(chan string, 16)
	var letGone atomic.Bool // set just before A's handlers are let go
	var early atomic.Int32  // hand-overs that went on while A held the batch
	// Removed after the members closed (cleanups run last in, first out).
	// (The group's retry topic, %RETRY%hand, moves too, at once: it has
	// no batch in flight.)
	t.Cleanup(rocketmq.SetHandOverHooks(func(topic string, _ int) {
		if topic != hoTopic {
			return
		}
		select {
		case gaveUp <- topic:
		default:
		}
	}, func(topic string, _ int) {
		if topic == hoTopic && !letGone.Load() {
			early.Add(1)
		}
	}))
	release := make(chan struct{})
	var mu sync.Mutex
	held := map[int]bool{} // queues with a message held at A
	s := startHandOver(t, func(m *mq.Message) {
		if seq, _ := strconv.Atoi(string(m.Payload)); seq >= hoRound && seq < 2*hoRound {
			mu.Lock()
			held[rocketmq.QueueOfKey(m.Key, 4)] = true
			mu.Unlock()
			<-release
		}
	})
	// Registered after A's cleanup, so it runs before it: A's Close waits
	// for the held handlers.
	var once sync.Once
	letGo := func() { once.Do(func() { letGone.Store(true); close(release) }) }
	t.Cleanup(letGo)
	a := s.members()[0]
	publishSeq(t, s.pub, hoTopic, hoKeys, hoRound, 2*hoRound)
	// A queue's batches reach mq one at a time, each once the last is
	// settled: a held message holds its queue's batch at A.
	waitUntil(t, "a message of every queue held at A", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(held) == 4
	})
	s.joinB(t)
	for range 2 {
		select {
		case <-gaveUp:
		case <-time.After(handOverDeadline):
			t.Fatal("A gave up no queue")
		}
	}
	// A has given two queues up but its batches of them are not settled:
	// the locks stay A's, and B handles nothing.
	for q := range 4 {
		if h := s.srv.LockHolder(hoGroup, hoTopic, q); h != a {
			t.Fatalf("queue %d locked by %q while A still handles its batch, want A (%s)", q, h, a)
		}
	}
	if n := s.byB.Load(); n != 0 {
		t.Fatalf("B handled %d messages while A handles the batches", n)
	}
	letGo()
	publishSeq(t, s.pub, hoTopic, hoKeys, 2*hoRound, 3*hoRound)
	waitUntil(t, "every message handled, some by B", func() bool {
		return s.oc.Done(hoKeys*3*hoRound) && s.byB.Load() > 0
	})
	if n := early.Load(); n != 0 {
		t.Errorf("%d hand-overs committed and unlocked while A still held the batch", n)
	}
	// Here the client drops the given-up queues when A's held batches
	// return, right when the hand-overs commit, and its own offset write
	// (a batch behind) can land after theirs (see the package doc): up to
	// one batch (32) of each of the two moved queues may come again. What
	// this test checks is the wait: nothing committed, unlocked or handled
	// by B before A's batches settle (the commit's value is checked
	// without the client by TestHandOverForgetsEarlierOwnership).
	s.checkSplitUpTo(t, 2*32)
}
