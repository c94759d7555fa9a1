package testserver

import (
	"slices"
	"strconv"
	"time"
)

// rmqScheduled is a message waiting out its delay level.
type rmqScheduled struct {
	due time.Time
	m   *rmqMessage
}

// scheduleLocked parks m until its delay level's delay has passed, as
// the broker's SCHEDULE_TOPIC_XXXX does, and returns its offset in the
// schedule. r.mu is held.
func (r *RocketMQ) scheduleLocked(m *rmqMessage, level int, now time.Time) int64 {
	levels := r.cfg.delayLevels
	d := levels[min(level, len(levels))-1]
	m.properties = rmqSetProp(m.properties, "REAL_TOPIC", m.topic)
	m.properties = rmqSetProp(m.properties, "REAL_QID", strconv.Itoa(int(m.queueID)))
	m.commitLogOffset = r.nextPhys
	r.nextPhys += int64(m.recordLen())
	s := &rmqScheduled{due: now.Add(d), m: m}
	i, _ := slices.BinarySearchFunc(r.scheduled, s, func(a, b *rmqScheduled) int { return a.due.Compare(b.due) })
	r.scheduled = slices.Insert(r.scheduled, i, s)
	r.poke()
	return int64(len(r.scheduled) - 1)
}

// deliverDueLocked moves every scheduled message whose time has come to
// its real topic and queue, and returns when the next one is due (zero
// if none). r.mu is held.
func (r *RocketMQ) deliverDueLocked(now time.Time) time.Time {
	for len(r.scheduled) > 0 && !r.scheduled[0].due.After(now) {
		m := r.scheduled[0].m
		r.scheduled = r.scheduled[1:]
		m.topic = rmqProp(m.properties, "REAL_TOPIC")
		m.queueID = int32(atoi64(rmqProp(m.properties, "REAL_QID")))
		m.properties = rmqSetProp(m.properties, "DELAY", "")
		r.putLocked(m, now) // an error (topic deleted meanwhile) drops it, as the broker does
	}
	if len(r.scheduled) == 0 {
		return time.Time{}
	}
	return r.scheduled[0].due
}

// sendMsgBack answers CONSUMER_SEND_MSG_BACK: the message at the given
// commit-log offset is stored again in %RETRY%<group> after its delay,
// with one more reconsume, or in %DLQ%<group> once it has been
// reconsumed maxReconsumeTimes times (or the delay level is negative).
func (r *RocketMQ) sendMsgBack(c *rmqConn, req *rmqCommand) *rmqCommand {
	h := req.ExtFields
	group := h["group"]
	if why := validTopic(rmqRetryPrefix + group); group == "" || why != "" {
		return rmqErr(rmqSubscriptionAbsent, "subscription group not exist, %s", group)
	}
	off := atoi64(h["offset"])
	delay := int(atoi64(h["delayLevel"]))
	maxTimes := int32(16)
	if v, ok := h["maxReconsumeTimes"]; ok {
		maxTimes = int32(atoi64(v))
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	orig := r.commitLog[off]
	if orig == nil {
		return rmqErr(rmqSystemError, "look message by offset failed, %d", off)
	}
	m := *orig
	props := m.properties
	if rmqProp(props, "RETRY_TOPIC") == "" {
		props = rmqSetProp(props, "RETRY_TOPIC", orig.topic)
	}
	if rmqProp(props, "ORIGIN_MESSAGE_ID") == "" {
		id := rmqProp(props, "UNIQ_KEY")
		if id == "" {
			id = r.offsetMsgID(orig.commitLogOffset)
		}
		props = rmqSetProp(props, "ORIGIN_MESSAGE_ID", id)
	}
	if orig.reconsumeTimes >= maxTimes || delay < 0 {
		m.topic = rmqDLQPrefix + group
		props = rmqSetProp(props, "DELAY", "")
	} else {
		m.topic = rmqRetryPrefix + group
		if delay == 0 {
			delay = 3 + int(orig.reconsumeTimes)
		}
		props = rmqSetProp(props, "DELAY", strconv.Itoa(delay))
	}
	m.properties = props
	m.queueID = 0
	m.reconsumeTimes = orig.reconsumeTimes + 1
	m.preparedTxOff = 0
	if _, resp := r.putLocked(&m, time.Now()); resp != nil {
		return resp
	}
	return rmqOK(nil, nil)
}

// schedule runs the double's timed work until it stops: delayed
// messages, transaction checks, expiry of silent clients.
func (r *RocketMQ) schedule() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		r.mu.Lock()
		next := r.deliverDueLocked(now)
		checks := r.dueTxChecksLocked(now)
		r.expireClientsLocked(now)
		r.mu.Unlock()
		for _, ck := range checks {
			ck()
		}
		// Wake regularly for the checks and expiries, which need no
		// precision.
		wait := min(time.Second, r.cfg.txCheck/2, r.cfg.clientExpiry/2)
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(now), 0))
		}
		timer.Reset(wait)
		select {
		case <-r.done:
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}
