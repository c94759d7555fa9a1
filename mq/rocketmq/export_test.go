package rocketmq

import (
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// SetHandOverHook has f called with each queue a member gives up, as its
// hand-over starts; the returned func removes it. Tests that set it do
// not run in parallel.
func SetHandOverHook(f func(queue string)) (restore func()) {
	h := func(q primitive.MessageQueue) { f(q.String()) }
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
