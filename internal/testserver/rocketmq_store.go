package testserver

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"net"
	"regexp"
	"strings"
)

const (
	rmqDefaultTopic = "TBW102"
	rmqBrokerName   = "broker-a"
	rmqClusterName  = "DefaultCluster"
	rmqRetryPrefix  = "%RETRY%"
	rmqDLQPrefix    = "%DLQ%"
	rmqHalfTopic    = "RMQ_SYS_TRANS_HALF_TOPIC"

	rmqPermWrite   = 1 << 1
	rmqPermRead    = 1 << 2
	rmqPermInherit = 1 << 0

	// rmqMagic is MESSAGE_MAGIC_CODE of the v1 record layout.
	rmqMagic = 0xdaa320a7

	rmqSysFlagCompressed = 0x1
	rmqTxPrepared        = 0x1 << 2
	rmqTxCommit          = 0x2 << 2
	rmqTxRollback        = 0x3 << 2
	rmqTxMask            = 0x3 << 2

	// rmqMaxPropertiesLen is Short.MAX_VALUE: the record stores the
	// properties' length in 16 bits.
	rmqMaxPropertiesLen = 32767
)

// rmqTopicPattern is the broker's TopicValidator pattern; topics are
// at most 127 bytes (the record stores the length in one signed byte).
var rmqTopicPattern = regexp.MustCompile(`^[%|a-zA-Z0-9_-]+$`)

type rmqTopic struct {
	name   string
	perm   int
	queues []*rmqQueue
	// unrouted: created by UPDATE_AND_CREATE_TOPIC under
	// RocketMQCreatedTopicsUnrouted, never in a route.
	unrouted     bool
	routeQueries int // GET_ROUTEINFO_BY_TOPIC asked of it
}

type rmqQueue struct {
	msgs []*rmqMessage
	// arrived is closed (and replaced) when a message is appended, waking
	// the pulls held on this queue.
	arrived chan struct{}
}

// rmqMessage is one stored message, with everything a MessageExt record
// carries.
type rmqMessage struct {
	topic           string
	queueID         int32
	queueOffset     int64
	commitLogOffset int64
	flag            int32
	sysFlag         int32
	bornTimestamp   int64
	bornHost        [4]byte
	bornPort        int32
	storeTimestamp  int64
	reconsumeTimes  int32
	preparedTxOff   int64
	body            []byte
	properties      string // exactly as the client sent it, plus what the broker adds
}

// createTopicLocked creates topic with n queues, or returns it if it
// exists. r.mu is held.
func (r *RocketMQ) createTopicLocked(name string, n, perm int) *rmqTopic {
	if t := r.topics[name]; t != nil {
		return t
	}
	t := &rmqTopic{name: name, perm: perm}
	for range n {
		t.queues = append(t.queues, &rmqQueue{arrived: make(chan struct{})})
	}
	r.topics[name] = t
	return t
}

// validTopic reports why name cannot be a topic, or "".
func validTopic(name string) string {
	switch {
	case name == "":
		return "the specified topic is blank"
	case len(name) > 127:
		return "the specified topic is longer than topic max length 127"
	case !rmqTopicPattern.MatchString(name):
		return "the specified topic[" + name + "] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
	}
	return ""
}

// appendLocked stores m at the end of its queue, giving it its queue and
// commit-log offsets, and wakes the pulls held on the queue. r.mu is
// held and the queue exists.
func (r *RocketMQ) appendLocked(q *rmqQueue, m *rmqMessage) {
	m.queueOffset = int64(len(q.msgs))
	m.commitLogOffset = r.nextPhys
	r.nextPhys += int64(m.recordLen())
	r.commitLog[m.commitLogOffset] = m
	q.msgs = append(q.msgs, m)
	close(q.arrived)
	q.arrived = make(chan struct{})
}

// recordLen is the length of m's MessageExt record.
func (m *rmqMessage) recordLen() int {
	return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 +
		4 + len(m.body) + 1 + len(m.topic) + 2 + len(m.properties)
}

// appendRecord appends m's MessageExt record (the v1 layout
// primitive.DecodeMessage reads, IPv4 hosts) to b.
func (r *RocketMQ) appendRecord(b []byte, m *rmqMessage) []byte {
	be := binary.BigEndian
	b = be.AppendUint32(b, uint32(m.recordLen()))
	b = be.AppendUint32(b, rmqMagic)
	b = be.AppendUint32(b, crc32.ChecksumIEEE(m.body)&0x7FFFFFFF)
	b = be.AppendUint32(b, uint32(m.queueID))
	b = be.AppendUint32(b, uint32(m.flag))
	b = be.AppendUint64(b, uint64(m.queueOffset))
	b = be.AppendUint64(b, uint64(m.commitLogOffset))
	b = be.AppendUint32(b, uint32(m.sysFlag))
	b = be.AppendUint64(b, uint64(m.bornTimestamp))
	b = append(b, m.bornHost[:]...)
	b = be.AppendUint32(b, uint32(m.bornPort))
	b = be.AppendUint64(b, uint64(m.storeTimestamp))
	b = append(b, r.storeHost[:]...)
	b = be.AppendUint32(b, uint32(r.storePort))
	b = be.AppendUint32(b, uint32(m.reconsumeTimes))
	b = be.AppendUint64(b, uint64(m.preparedTxOff))
	b = be.AppendUint32(b, uint32(len(m.body)))
	b = append(b, m.body...)
	b = append(b, byte(len(m.topic)))
	b = append(b, m.topic...)
	b = be.AppendUint16(b, uint16(len(m.properties)))
	return append(b, m.properties...)
}

// offsetMsgID is the broker's message id: store host, port and
// commit-log offset in upper-case hex.
func (r *RocketMQ) offsetMsgID(commitLogOffset int64) string {
	b := append([]byte(nil), r.storeHost[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(r.storePort))
	b = binary.BigEndian.AppendUint64(b, uint64(commitLogOffset))
	return strings.ToUpper(hex.EncodeToString(b))
}

// Message properties are "k\x01v\x02" pairs.
const (
	rmqNameValueSep = "\x01"
	rmqPropSep      = "\x02"
)

// rmqProp returns property key of props.
func rmqProp(props, key string) string {
	for kv := range strings.SplitSeq(props, rmqPropSep) {
		if k, v, ok := strings.Cut(kv, rmqNameValueSep); ok && k == key {
			return v
		}
	}
	return ""
}

// rmqSetProp returns props with key set to value (removed when value is
// ""), keeping every other pair byte for byte and in order.
func rmqSetProp(props, key, value string) string {
	var b strings.Builder
	for kv := range strings.SplitSeq(props, rmqPropSep) {
		if kv == "" {
			continue
		}
		if k, _, _ := strings.Cut(kv, rmqNameValueSep); k == key {
			continue
		}
		b.WriteString(kv)
		b.WriteString(rmqPropSep)
	}
	if value != "" {
		b.WriteString(key + rmqNameValueSep + value + rmqPropSep)
	}
	return b.String()
}

// hostPort splits a TCP address into the record's IPv4 and port; other
// addresses become 0.0.0.0:0.
func hostPort(a net.Addr) ([4]byte, int32) {
	var ip [4]byte
	if ta, ok := a.(*net.TCPAddr); ok {
		if v4 := ta.IP.To4(); v4 != nil {
			copy(ip[:], v4)
			return ip, int32(ta.Port)
		}
	}
	return ip, 0
}
