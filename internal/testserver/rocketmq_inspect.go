package testserver

import (
	"strings"
	"time"
)

// RocketMQStored is a message as the double stores it, for tests that
// check what reached the broker (a dead-letter queue, say, which no
// consumer may read).
type RocketMQStored struct {
	Queue          int
	Offset         int64
	Body           []byte
	Properties     map[string]string
	ReconsumeTimes int
}

// Stored returns the messages stored in topic's queues, queue by queue,
// in offset order (nil for a topic that does not exist).
func (r *RocketMQ) Stored(topic string) []RocketMQStored {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[topic]
	if t == nil {
		return nil
	}
	var out []RocketMQStored
	for qi, q := range t.queues {
		for _, m := range q.msgs {
			props := map[string]string{}
			for kv := range strings.SplitSeq(m.properties, rmqPropSep) {
				if k, v, ok := strings.Cut(kv, rmqNameValueSep); ok {
					props[k] = v
				}
			}
			out = append(out, RocketMQStored{
				Queue: qi, Offset: m.queueOffset, Body: append([]byte(nil), m.body...),
				Properties: props, ReconsumeTimes: int(m.reconsumeTimes),
			})
		}
	}
	return out
}

// CommittedOffset returns the offset group committed on a queue of
// topic, and whether it committed one.
func (r *RocketMQ) CommittedOffset(group, topic string, queue int) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	off, ok := r.offsets[rmqOffsetKey{group, topic, int32(queue)}]
	return off, ok
}

// ConsumerGroupMembers returns the client ids the broker counts in a
// consumer group.
func (r *RocketMQ) ConsumerGroupMembers(group string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	if g := r.groups[group]; g != nil {
		for id := range g.members {
			ids = append(ids, id)
		}
	}
	return ids
}

// LockHolder returns the client id holding group's lock on a queue
// of topic, or "" when no lock is held (or it lapsed).
func (r *RocketMQ) LockHolder(group, topic string, queue int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.locks[rmqLockKey{group, topic, queue}]
	if !ok || !time.Now().Before(l.until) {
		return ""
	}
	return l.client
}

// RouteQueries returns how many GET_ROUTEINFO_BY_TOPIC requests asked
// for topic since it was created (0 for a topic that does not exist).
func (r *RocketMQ) RouteQueries(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.topics[topic]; t != nil {
		return t.routeQueries
	}
	return 0
}
