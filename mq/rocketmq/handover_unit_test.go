package rocketmq

import (
	"context"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// newUnitReceiver returns a receiver of topic, created with two queues on
// srv's broker, that talks to srv but has a stand-in for the client's
// push consumer, and the topic's two queues: the hand-over driven without
// the client, so that its concurrency is race-checked.
func newUnitReceiver(t *testing.T, srv *testserver.RocketMQ, topic string) (*receiver, []*primitive.MessageQueue) {
	t.Helper()
	if err := createTopic(context.Background(), srv.BrokerAddr(), topic, 2, primitive.Credentials{}); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(topic, 0)
	r.pc = &fakeConsumer{}
	r.nameServers = []string{srv.NameServer()}
	return r, []*primitive.MessageQueue{{Topic: topic, BrokerName: "broker-a", QueueId: 0}, {Topic: topic, BrokerName: "broker-a", QueueId: 1}}
}
