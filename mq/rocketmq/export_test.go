package rocketmq

import "github.com/apache/rocketmq-client-go/v2/primitive"

// SetHandOverHook has f called with each queue a member gives up, as its
// hand-over starts; the returned func removes it. Tests that set it do
// not run in parallel.
func SetHandOverHook(f func(queue string)) (restore func()) {
	testHandOverHook = func(q primitive.MessageQueue) { f(q.String()) }
	return func() { testHandOverHook = nil }
}
