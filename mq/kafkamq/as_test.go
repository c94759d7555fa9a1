package kafkamq_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestSubscriptionAs: a subscription hands out its member's own kgo
// client (in the group, not the producing client), which answers for
// the group while the subscription keeps consuming; other types are
// false, and so is every type once Close has begun.
func TestSubscriptionAs(t *testing.T) {
	k := testserver.StartKafka(t)
	ctx := context.Background()
	c, err := mq.Open(ctx, kafkaURL(k))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 1)
	sub, err := c.Subscribe(ctx, "as-topic", "as-group", func(_ context.Context, m *mq.Message) error {
		got <- string(m.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var member, producer *kgo.Client
	if !sub.As(&member) || member == nil {
		t.Fatal("Subscription.As(**kgo.Client) = false, want the member's client")
	}
	if !c.As(&producer) || producer == member {
		t.Fatal("the subscription handed out the producing client, want the member's own")
	}
	if g, _ := member.OptValue(kgo.ConsumerGroup).(string); g != "as-group" {
		t.Errorf("member client's group = %q, want %q", g, "as-group")
	}
	if id, _ := member.GroupMetadata(); id == "" {
		t.Error("member client has no member ID, want the joined member's")
	}
	var adm *kadm.Client
	if sub.As(&adm) {
		t.Error("Subscription.As(**kadm.Client) = true, want false (Client.As has it)")
	}
	// Handing the client out changes nothing for the subscription.
	if err := c.Publish(ctx, &mq.Message{Topic: "as-topic", Payload: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "hello" {
			t.Errorf("handled %q, want hello", p)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("gave up waiting for the message")
	}

	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	member = nil
	if sub.As(&member) || member != nil {
		t.Error("Subscription.As after Close = true, want false: the member's client is closed")
	}
}
