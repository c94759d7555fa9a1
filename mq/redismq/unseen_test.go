package redismq_test

import (
	"context"
	"testing"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestLostReplyIsDelivered: the reply to a member's blocked XREADGROUP,
// holding a new entry, is lost on the wire; Redis counts the entry as
// delivered to the member. The member finds it pending for itself and
// newer than anything it saw, and handles it (as attempt 1), rather than
// keep it pending, unhandled, for as long as it owns the partition (the
// lease here is renewed for 10 minutes, far past the test's patience).
func TestLostReplyIsDelivered(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rawClient(t, r.Addr)
	px := testserver.NewRedisProxy(t, r.Addr)
	member := open(t, "redis://"+px.Addr()+"/0?partitions=1&"+slowParams)
	got := make(chan *mq.Message, 1)
	sub, err := member.Subscribe(context.Background(), "lost", "g", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, "the member's read blocked", func() bool { return blockedReads(t, rdb) == 1 })
	// The next reply on any connection is lost, and its connection cut:
	// a reply lost on the wire after the server acted on the command.
	dropped := px.DropReply(testserver.Drop{})
	if err := open(t, r.URL).Publish(context.Background(), &mq.Message{Topic: "lost", Key: "k", Payload: []byte("lost on the wire")}); err != nil {
		t.Fatal(err)
	}
	<-dropped
	var m *mq.Message
	waitFor(t, "the entry of the lost reply handled", func() bool {
		select {
		case m = <-got:
			return true
		default:
			return false
		}
	})
	if string(m.Payload) != "lost on the wire" || m.Attempt != 1 {
		t.Errorf("got %q as attempt %d, want the lost entry as attempt 1", m.Payload, m.Attempt)
	}
}
