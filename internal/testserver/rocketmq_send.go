package testserver

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// rmqV2Fields maps SendMessageRequestHeaderV2's one-letter fields (used
// by batch sends) to the V1 names.
var rmqV2Fields = map[string]string{
	"a": "producerGroup", "b": "topic", "c": "defaultTopic", "d": "defaultTopicQueueNums",
	"e": "queueId", "f": "sysFlag", "g": "bornTimestamp", "h": "flag", "i": "properties",
	"j": "reconsumeTimes", "k": "unitMode", "l": "maxReconsumeTimes", "m": "batch", "n": "bname",
}

func sendHeader(ext map[string]string) map[string]string {
	if _, v1 := ext["topic"]; v1 {
		return ext
	}
	h := make(map[string]string, len(ext))
	for k, v := range ext {
		if name, ok := rmqV2Fields[k]; ok {
			h[name] = v
		}
	}
	return h
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// sendMessage answers SEND_MESSAGE (10) and SEND_BATCH_MESSAGE (320).
func (r *RocketMQ) sendMessage(c *rmqConn, req *rmqCommand, batch bool) *rmqCommand {
	h := sendHeader(req.ExtFields)
	topic := h["topic"]
	if why := validTopic(topic); why != "" {
		return rmqErr(rmqSystemError, "%s", why)
	}
	if topic == rmqHalfTopic || strings.HasPrefix(topic, "SCHEDULE_TOPIC") {
		return rmqErr(rmqNoPermission, "Sending message to topic[%s] is forbidden.", topic)
	}
	bornHost, bornPort := hostPort(c.nc.RemoteAddr())
	base := rmqMessage{
		topic:          topic,
		queueID:        int32(atoi64(h["queueId"])),
		flag:           int32(atoi64(h["flag"])),
		sysFlag:        int32(atoi64(h["sysFlag"])),
		bornTimestamp:  atoi64(h["bornTimestamp"]),
		bornHost:       bornHost,
		bornPort:       bornPort,
		reconsumeTimes: int32(atoi64(h["reconsumeTimes"])),
	}
	var msgs []*rmqMessage
	if batch {
		if strings.HasPrefix(topic, rmqRetryPrefix) {
			return rmqErr(rmqMessageIllegal, "batch request does not support retry group %s", topic)
		}
		if len(req.Body) > r.cfg.maxMessageBytes {
			return rmqErr(rmqMessageIllegal, "the message body size over max value, MAX: %d", r.cfg.maxMessageBytes)
		}
		inner, why := decodeBatch(req.Body)
		if why != "" {
			return rmqErr(rmqMessageIllegal, "the batch message is illegal: %s", why)
		}
		for _, in := range inner {
			m := base
			m.flag, m.body, m.properties = in.flag, in.body, in.properties
			msgs = append(msgs, &m)
		}
	} else {
		m := base
		m.body, m.properties = req.Body, h["properties"]
		msgs = append(msgs, &m)
	}
	for _, m := range msgs {
		if len(m.properties) > rmqMaxPropertiesLen {
			return rmqErr(rmqMessageIllegal, "the message properties length %d is over the limit %d", len(m.properties), rmqMaxPropertiesLen)
		}
		if m.recordLen() > r.cfg.maxMessageBytes {
			return rmqErr(rmqMessageIllegal, "the message body size over max value, MAX: %d", r.cfg.maxMessageBytes)
		}
	}
	if strings.HasPrefix(topic, rmqRetryPrefix) {
		// The client's fallback for a failed send-back: the broker sends
		// it to the DLQ once the reconsume count reaches the maximum.
		maxTimes := int32(16)
		if v, ok := h["maxReconsumeTimes"]; ok {
			maxTimes = int32(atoi64(v))
		}
		if m := msgs[0]; m.reconsumeTimes >= maxTimes {
			m.topic = rmqDLQPrefix + strings.TrimPrefix(topic, rmqRetryPrefix)
			m.queueID = 0
			m.properties = rmqSetProp(m.properties, "DELAY", "")
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	var first int64 = -1
	for _, m := range msgs {
		qoff, resp := r.putLocked(m, time.Now())
		if resp != nil {
			return resp
		}
		if first < 0 {
			first = qoff
		}
		ids = append(ids, r.offsetMsgID(m.commitLogOffset))
	}
	return rmqOK(map[string]string{
		"msgId":       strings.Join(ids, ","),
		"queueId":     strconv.Itoa(int(msgs[0].queueID)),
		"queueOffset": itoa(first),
		"MSG_REGION":  "DefaultRegion",
		"TRACE_ON":    "true",
	}, nil)
}

// putLocked stores m as the commit log would: a prepared transactional
// message becomes a hidden half message, one with a delay level waits in
// the schedule, anything else is appended to its queue (creating the
// topic if needed). It returns the queue offset the send reports, or an
// error response. r.mu is held.
func (r *RocketMQ) putLocked(m *rmqMessage, now time.Time) (int64, *rmqCommand) {
	m.storeTimestamp = now.Add(r.cfg.clockSkew).UnixMilli()
	t := r.topics[m.topic]
	if t == nil {
		n, perm := r.cfg.queues, rmqPermRead|rmqPermWrite
		switch {
		case strings.HasPrefix(m.topic, rmqRetryPrefix):
			n = 1
		case strings.HasPrefix(m.topic, rmqDLQPrefix):
			n, perm = 1, rmqPermWrite
		}
		t = r.createTopicLocked(m.topic, n, perm)
	}
	if t.perm&rmqPermWrite == 0 {
		return 0, rmqErr(rmqNoPermission, "the topic[%s] sending message is forbidden", m.topic)
	}
	if m.queueID < 0 {
		m.queueID = int32(rand.IntN(len(t.queues)))
	}
	if int(m.queueID) >= len(t.queues) {
		return 0, rmqErr(rmqSystemError, "request queueId[%d] is illegal, topic:[%s] topicConfig.writeQueueNums:[%d]",
			m.queueID, m.topic, len(t.queues))
	}
	switch {
	case m.sysFlag&rmqTxMask == rmqTxPrepared:
		return r.halfLocked(m), nil
	case m.sysFlag&rmqTxMask == rmqTxRollback:
		return 0, nil // nothing to store
	}
	if level := int(atoi64(rmqProp(m.properties, "DELAY"))); level > 0 {
		return r.scheduleLocked(m, level, now), nil
	}
	r.appendLocked(t.queues[m.queueID], m)
	return m.queueOffset, nil
}

// rmqBatchItem is one message of a batch body.
type rmqBatchItem struct {
	flag       int32
	body       []byte
	properties string
}

// decodeBatch parses a batch body: records of totalSize(4) magic(4)
// bodyCRC(4) flag(4) bodyLen(4) body propLen(2) properties. It returns
// why the body is malformed, or "".
func decodeBatch(b []byte) ([]rmqBatchItem, string) {
	var items []rmqBatchItem
	for len(b) > 0 {
		rd := rmqReader{b: b}
		total := int(int32(rd.u32()))
		rd.u32() // magic
		rd.u32() // body CRC
		flag := int32(rd.u32())
		body := rd.bytes(int(int32(rd.u32())))
		props := rd.bytes(int(rd.u16()))
		if rd.err != nil {
			return nil, rd.err.Error()
		}
		if n := len(b) - len(rd.b); total != n {
			return nil, "record says " + strconv.Itoa(total) + " bytes, has " + strconv.Itoa(n)
		}
		items = append(items, rmqBatchItem{flag: flag, body: body, properties: string(props)})
		b = rd.b
	}
	if len(items) == 0 {
		return nil, "no messages"
	}
	return items, ""
}
