//go:build !race

// Drives rocketmq-client-go, which races on its own (see rocketmq_test.go):
// built without -race only; scripts/test runs it in its RocketMQ step.

package rocketmq_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestReviewNewGroupBrokerClockBehind: a broker that has no offset of a
// new group on a queue (QUERY_NOT_FOUND: the queue's first message left
// memory, as on any topic older than the broker's page cache) has the
// member start from a time, and the broker compares that time with its
// own clock. A broker clock 30 s behind the member's must not lose the
// messages published after Subscribe returned, however late the member
// gets its queues (held back here by failing its offset queries until
// the messages are stored).
func TestReviewNewGroupBrokerClockBehind(t *testing.T) {
	srv := testserver.StartRocketMQ(t, testserver.RocketMQNewGroupsNotFound(), testserver.RocketMQClockSkew(-30*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := mq.Open(ctx, "rocketmq://"+srv.NameServer()+"?"+testParams)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := fmt.Sprintf("review-start-%d", time.Now().UnixNano())
	var mu sync.Mutex
	got := map[string]bool{}
	const queryConsumerOffset = 14
	srv.FailNext(queryConsumerOffset, 1<<30) // no queue starts yet
	sub, err := c.Subscribe(ctx, topic, "g", func(_ context.Context, m *mq.Message) error {
		mu.Lock()
		got[m.ID] = true
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var want []string
	for i := range 8 {
		m := &mq.Message{Topic: topic, Key: fmt.Sprintf("k%d", i), Payload: []byte("x")}
		if err := c.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	srv.FailNext(queryConsumerOffset, 0) // the queues start at the next rebalance
	for {
		mu.Lock()
		var missing []string
		for _, id := range want {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		mu.Unlock()
		if len(missing) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			sort.Strings(missing)
			t.Fatalf("%d of %d messages published after Subscribe returned never arrived: %s", len(missing), len(want), strings.Join(missing, " "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
