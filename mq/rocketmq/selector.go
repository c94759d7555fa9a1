package rocketmq

import (
	"sync/atomic"
	"unicode/utf16"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// keySelector is the producer's MessageQueueSelector: a message with a key
// goes to queue hash(key) mod len(queues), so one key stays on one queue
// (and the orderly consumer sees it in order); a message without one goes
// round robin. The hash is Java's String.hashCode, as the Java client's
// SelectMessageQueueByHash computes it, so Java producers selecting by the
// same key land on the same queue.
type keySelector struct{ next atomic.Uint32 }

var _ producer.QueueSelector = (*keySelector)(nil)

func (s *keySelector) Select(m *primitive.Message, queues []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	if len(queues) == 0 {
		return nil
	}
	key := m.GetProperty(primitive.PropertyKeys)
	if key == "" {
		return queues[int(s.next.Add(1)-1)%len(queues)]
	}
	return queues[queueIndex(key, len(queues))]
}

// queueIndex is Java's Math.abs(key.hashCode()) % n, with the one value
// Math.abs leaves negative (Integer.MIN_VALUE) mapped to queue 0.
func queueIndex(key string, n int) int {
	h := javaHash(key)
	if h < 0 {
		h = -h
	}
	if h < 0 {
		return 0
	}
	return int(h % int32(n))
}

// javaHash is Java's String.hashCode: over the UTF-16 code units,
// h = 31*h + c, wrapping at 32 bits. Invalid UTF-8 counts as U+FFFD, as
// Java's default decoder makes it.
func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			a, b := utf16.EncodeRune(r)
			h = 31*h + int32(a)
			h = 31*h + int32(b)
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
