package testserver

import (
	"strings"
	"time"
)

const (
	rmqPullCommitFlag  = 1 << 0
	rmqPullSuspendFlag = 1 << 1
	rmqPullSubFlag     = 1 << 2

	// A pull returns at most 32 messages and 256 KiB (after the first
	// message), the broker's in-memory transfer limits.
	rmqPullMaxMsgs  = 32
	rmqPullMaxBytes = 256 << 10
	// rmqMaxSuspend bounds how long a pull is held whatever it asks.
	rmqMaxSuspend = 60 * time.Second
)

type rmqOffsetKey struct {
	group, topic string
	queue        int32
}

// rmqPull is a decoded PULL_MESSAGE request.
type rmqPull struct {
	group, topic string
	queue        int32
	offset       int64
	max          int
	sysFlag      int
	commitOffset int64
	suspend      time.Duration
	subscription string
}

// pullMessage answers PULL_MESSAGE. A pull that finds nothing new and
// may be suspended is held on a goroutine of its own until a message
// arrives on its queue or the suspend timeout passes.
func (r *RocketMQ) pullMessage(c *rmqConn, req *rmqCommand) *rmqCommand {
	h := req.ExtFields
	p := rmqPull{
		group:        h["consumerGroup"],
		topic:        h["topic"],
		queue:        int32(atoi64(h["queueId"])),
		offset:       atoi64(h["queueOffset"]),
		max:          int(atoi64(h["maxMsgNums"])),
		sysFlag:      int(atoi64(h["sysFlag"])),
		commitOffset: atoi64(h["commitOffset"]),
		suspend:      time.Duration(atoi64(h["suspendTimeoutMillis"])) * time.Millisecond,
		subscription: h["subscription"],
	}
	p.max = min(max(p.max, 1), rmqPullMaxMsgs)
	p.suspend = min(max(p.suspend, 0), rmqMaxSuspend)

	resp, arrived := r.pullOnce(&p, true)
	if resp != nil {
		return resp
	}
	// Hold the pull; the reading goroutine goes on with the connection's
	// next requests, as the broker's threads would.
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		timer := time.NewTimer(p.suspend)
		defer timer.Stop()
		select {
		case <-arrived:
		case <-timer.C:
		case <-c.done:
			return
		case <-r.done:
			return
		}
		resp, _ := r.pullOnce(&p, false)
		c.reply(req, resp)
	}()
	return nil
}

// pullOnce runs the pull against the store. When mayHold and nothing new
// is there and the pull asked to be suspended, it returns a nil response
// and the channel that closes when the queue changes.
func (r *RocketMQ) pullOnce(p *rmqPull, mayHold bool) (*rmqCommand, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[p.topic]
	if t == nil {
		return rmqErr(rmqTopicNotExist, "topic[%s] not exist, apply first please!", p.topic), nil
	}
	if t.perm&rmqPermRead == 0 {
		return rmqErr(rmqNoPermission, "the topic[%s] pulling message is forbidden", p.topic), nil
	}
	if p.queue < 0 || int(p.queue) >= len(t.queues) {
		return rmqErr(rmqSystemError, "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d] consumer:[%s]",
			p.queue, p.topic, len(t.queues), p.group), nil
	}
	tags, resp := r.subscriptionLocked(p)
	if resp != nil {
		return resp, nil
	}
	q := t.queues[p.queue]
	maxOff := int64(len(q.msgs))
	ext := map[string]string{"minOffset": "0", "maxOffset": itoa(maxOff), "suggestWhichBrokerId": "0"}
	code := int16(rmqSuccess)
	var body []byte
	switch {
	case maxOff == 0 && p.offset != 0, p.offset < 0, p.offset > maxOff:
		// NO_MESSAGE_IN_QUEUE at a non-zero offset, OFFSET_TOO_SMALL or
		// OFFSET_OVERFLOW_BADLY: the real broker points the client back
		// at the queue's first offset.
		code = rmqPullOffsetMoved
		ext["nextBeginOffset"] = "0"
	case p.offset == maxOff:
		if mayHold && p.sysFlag&rmqPullSuspendFlag != 0 && p.suspend > 0 {
			r.commitPullOffsetLocked(p)
			return nil, q.arrived
		}
		code = rmqPullNotFound
		ext["nextBeginOffset"] = itoa(p.offset)
	default:
		next := p.offset
		n := 0
		for next < maxOff && n < p.max && (n == 0 || len(body) < rmqPullMaxBytes) {
			m := q.msgs[next]
			next++
			if tags != nil && !tags[rmqProp(m.properties, "TAGS")] {
				continue
			}
			body = r.appendRecord(body, m)
			n++
		}
		ext["nextBeginOffset"] = itoa(next)
		if n == 0 {
			code = rmqPullRetryNow // NO_MATCHED_MESSAGE
		}
	}
	if mayHold {
		r.commitPullOffsetLocked(p)
	}
	return &rmqCommand{Code: code, ExtFields: ext, Body: body}, nil
}

// commitPullOffsetLocked stores the offset a pull carries with the
// commit flag, as the master broker does. r.mu is held.
func (r *RocketMQ) commitPullOffsetLocked(p *rmqPull) {
	if p.sysFlag&rmqPullCommitFlag != 0 && p.sysFlag&rmqPullSuspendFlag != 0 && p.group != "" {
		r.offsets[rmqOffsetKey{p.group, p.topic, p.queue}] = p.commitOffset
	}
}

// subscriptionLocked finds the tags the pull filters on: from the pull
// itself when it carries its subscription, else from the group's
// heartbeats (a group or subscription the broker has not heard of is
// 24 SUBSCRIPTION_NOT_EXIST, as on a real broker). nil means every tag.
func (r *RocketMQ) subscriptionLocked(p *rmqPull) (map[string]bool, *rmqCommand) {
	expr := p.subscription
	if p.sysFlag&rmqPullSubFlag == 0 {
		g := r.groups[p.group]
		if g == nil || len(g.members) == 0 {
			return nil, rmqErr(rmqSubscriptionAbsent, "the consumer's group info not exist")
		}
		var found bool
		for _, m := range g.members {
			if e, ok := m.subs[p.topic]; ok {
				expr, found = e, true
				break
			}
		}
		if !found {
			return nil, rmqErr(rmqSubscriptionAbsent, "the consumer's subscription not exist")
		}
	}
	return parseTags(expr), nil
}

// parseTags parses a tag expression "a || b"; "*" or "" is nil (all).
func parseTags(expr string) map[string]bool {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return nil
	}
	tags := map[string]bool{}
	for t := range strings.SplitSeq(expr, "||") {
		if t = strings.TrimSpace(t); t != "" {
			tags[t] = true
		}
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}
