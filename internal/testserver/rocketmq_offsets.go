package testserver

import "sort"

// queueLocked finds a queue from a request's topic and queueId. r.mu is
// held.
func (r *RocketMQ) queueLocked(ext map[string]string) (*rmqQueue, *rmqCommand) {
	topic := ext["topic"]
	t := r.topics[topic]
	if t == nil {
		return nil, rmqErr(rmqTopicNotExist, "topic[%s] not exist, apply first please!", topic)
	}
	id := atoi64(ext["queueId"])
	if id < 0 || id >= int64(len(t.queues)) {
		return nil, rmqErr(rmqSystemError, "queueId[%d] is illegal, topic:[%s]", id, topic)
	}
	return t.queues[id], nil
}

// queryConsumerOffset answers QUERY_CONSUMER_OFFSET: the group's
// committed offset; with none, 0 — the real broker's answer while the
// queue's first message is in memory, which here it always is — or, with
// RocketMQNewGroupsNotFound, 22 QUERY_NOT_FOUND, its answer otherwise.
func (r *RocketMQ) queryConsumerOffset(req *rmqCommand) *rmqCommand {
	h := req.ExtFields
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, resp := r.queueLocked(h); resp != nil {
		if resp.Code == rmqTopicNotExist {
			return rmqErr(rmqQueryNotFound, "Not found, maybe this group consumer boot first")
		}
		return resp
	}
	off, ok := r.offsets[rmqOffsetKey{h["consumerGroup"], h["topic"], int32(atoi64(h["queueId"]))}]
	if !ok {
		if r.cfg.newGroupsAbsent {
			return rmqErr(rmqQueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
		}
		off = 0
	}
	return rmqOK(map[string]string{"offset": itoa(off)}, nil)
}

// updateConsumerOffset answers UPDATE_CONSUMER_OFFSET (usually oneway).
func (r *RocketMQ) updateConsumerOffset(req *rmqCommand) *rmqCommand {
	h := req.ExtFields
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, resp := r.queueLocked(h); resp != nil {
		return resp
	}
	if h["consumerGroup"] == "" {
		return rmqErr(rmqSystemError, "consumerGroup is empty")
	}
	r.offsets[rmqOffsetKey{h["consumerGroup"], h["topic"], int32(atoi64(h["queueId"]))}] = atoi64(h["commitOffset"])
	return rmqOK(nil, nil)
}

// maxOffset answers GET_MAX_OFFSET: the offset the next message gets.
func (r *RocketMQ) maxOffset(req *rmqCommand) *rmqCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, resp := r.queueLocked(req.ExtFields)
	if resp != nil {
		return resp
	}
	return rmqOK(map[string]string{"offset": itoa(int64(len(q.msgs)))}, nil)
}

// minOffset answers GET_MIN_OFFSET: always 0, nothing is ever deleted.
func (r *RocketMQ) minOffset(req *rmqCommand) *rmqCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, resp := r.queueLocked(req.ExtFields); resp != nil {
		return resp
	}
	return rmqOK(map[string]string{"offset": "0"}, nil)
}

// searchOffset answers SEARCH_OFFSET_BY_TIMESTAMP: the first message
// stored at or after the timestamp, else the max offset.
func (r *RocketMQ) searchOffset(req *rmqCommand) *rmqCommand {
	ts := atoi64(req.ExtFields["timestamp"])
	r.mu.Lock()
	defer r.mu.Unlock()
	q, resp := r.queueLocked(req.ExtFields)
	if resp != nil {
		return resp
	}
	i := sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].storeTimestamp >= ts })
	return rmqOK(map[string]string{"offset": itoa(int64(i))}, nil)
}
