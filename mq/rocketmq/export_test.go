package rocketmq

import (
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// SetHandOverHooks has gaveUp called with each queue a member gives up,
// as its hand-over starts, and releasing as the hand-over goes on to
// commit and unlock it; the returned func removes them. Tests that set
// them do not run in parallel.
func SetHandOverHooks(gaveUp, releasing func(topic string, queue int)) (restore func()) {
	h := func(q primitive.MessageQueue, released bool) {
		if released {
			releasing(q.Topic, q.QueueId)
		} else {
			gaveUp(q.Topic, q.QueueId)
		}
	}
	testHandOverHook.Store(&h)
	return func() { testHandOverHook.Store(nil) }
}

// SetTopicRouteWait shortens how long Subscribe waits for a topic it
// created to be routed; the returned func restores it.
func SetTopicRouteWait(d time.Duration) (restore func()) {
	old := topicRouteWait
	topicRouteWait = d
	return func() { topicRouteWait = old }
}

// QueueOfKey is the queue of n that Publish puts key's messages on.
func QueueOfKey(key string, n int) int { return queueIndex(key, n) }
