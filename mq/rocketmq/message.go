package rocketmq

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// User properties carrying what RocketMQ messages have no field for. The
// key travels in the KEYS system property, so that RocketMQ's tools
// (mqadmin queryMsgByKey, the dashboard) find messages by it.
const (
	propID   = "mq-id"   // the message ID
	propTime = "mq-time" // Message.Time, unix nanoseconds
)

// systemProperties are the property names RocketMQ and its clients give
// a meaning (Java's MessageConst, the Go client's primitive constants). A
// header by one of these names is refused at publish: the broker or a
// client would act on it. On receive they are not headers.
var systemProperties = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`KEYS TAGS WAIT DELAY RETRY_TOPIC TIMER_DELIVER_MS TIMER_DELAY_SEC
		TIMER_DELAY_MS TIMER_OUT_MS TIMER_ENQUEUE_MS TIMER_DEQUEUE_MS TIMER_ROLL_TIMES TIMER_DEL_UNIQKEY
		REAL_TOPIC REAL_QID TRAN_MSG PGROUP MIN_OFFSET MAX_OFFSET BUYER_ID ORIGIN_MESSAGE_ID TRANSFER_FLAG
		CORRECTION_FLAG MQ2_FLAG RECONSUME_TIME MSG_REGION TRACE_ON UNIQ_KEY MAX_RECONSUME_TIMES
		CONSUME_START_TIME TRAN_PREPARED_QUEUE_OFFSET TRANSACTION_CHECK_TIMES CHECK_IMMUNITY_TIME_IN_SECONDS
		SHARDING_KEY __transactionId__ CORRELATION_ID REPLY_TO_CLIENT TTL ARRIVE_TIME MSG_TYPE CLUSTER
		INSTANCE_ID POP_CK POP_CK_OFFSET FIRST_POP_TIME BORN_TIMESTAMP DLQ_ORIGIN_TOPIC DLQ_ORIGIN_MESSAGE_ID
		INNER_NUM INNER_BASE INNER_MULTI_DISPATCH INNER_MULTI_QUEUE_OFFSET TRACE_CONTEXT
		EXTEND_UNIQ_INFO DUP_INFO PUSH_REPLY_TIME 1ST_POP_TIME __SHARDINGKEY PROPERTY_FORWARD_QUEUE_ID
		REDIRECT __BORNHOST TIMER_DELAY_LEVEL`) {
		systemProperties[p] = true
	}
}

// transientPrefix starts the names of properties the broker does not
// store (Java's MessageConst.PROPERTY_TRANSIENT_PREFIX): a header so named
// would be lost.
const transientPrefix = "__RMQ.TRANSIENT."

// reserved reports whether a header cannot be named name: RocketMQ or mq's
// properties use it.
func reserved(name string) bool {
	return systemProperties[name] || name == propID || name == propTime || strings.HasPrefix(name, transientPrefix)
}

// separators are the bytes RocketMQ's properties encoding uses between a
// name and its value (1) and between properties (2): they cannot appear
// in either.
const separators = "\x01\x02"

// toNative converts m into a RocketMQ message whose properties carry the
// ID, time, key and headers. A header the encoding cannot carry is an
// error wrapping mq.ErrInvalid and naming it; nothing is sent then.
func toNative(m *driver.Message) (*primitive.Message, error) {
	props := make(map[string]string, len(m.Headers)+3)
	n := 0
	for k, v := range m.Headers {
		switch {
		case reserved(k):
			return nil, fmt.Errorf("%w: header %q: a name RocketMQ reserves", mq.ErrInvalid, k)
		case strings.ContainsAny(k, separators) || strings.ContainsAny(v, separators):
			return nil, fmt.Errorf("%w: header %q: names and values cannot hold the bytes 0x01 and 0x02 (RocketMQ's property separators)", mq.ErrInvalid, k)
		}
		props[k] = v
		n += len(k) + len(v) + 2
	}
	if strings.ContainsAny(m.Key, separators) {
		return nil, fmt.Errorf("%w: key %q: cannot hold the bytes 0x01 and 0x02 (RocketMQ's property separators)", mq.ErrInvalid, m.Key)
	}
	if strings.ContainsAny(m.ID, separators) {
		return nil, fmt.Errorf("%w: ID %q: cannot hold the bytes 0x01 and 0x02 (RocketMQ's property separators)", mq.ErrInvalid, m.ID)
	}
	props[propID] = m.ID
	props[propTime] = strconv.FormatInt(m.Time.UnixNano(), 10)
	if m.Key != "" {
		props[primitive.PropertyKeys] = m.Key
	}
	n += len(m.ID) + len(m.Key) + 40
	if n > maxPropertiesBytes {
		return nil, fmt.Errorf("%w: headers, key and ID come to %d bytes, over RocketMQ's limit of %d for a message's properties",
			driver.ErrTooLarge, n, maxPropertiesBytes)
	}
	nm := &primitive.Message{Topic: m.Topic, Body: m.Payload}
	// WithProperties, not WithProperty: the latter drops empty values.
	nm.WithProperties(props)
	return nm, nil
}

// fromNative converts a received message. A message not published by mq
// (no mq-id property) gets its RocketMQ unique ID (UNIQ_KEY, else the
// broker's offset message ID); one without mq-time gets its born time.
func fromNative(e *primitive.MessageExt, topic string) driver.Message {
	props := e.GetProperties()
	m := driver.Message{Topic: topic, Payload: e.Body, Key: props[primitive.PropertyKeys]}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	for k, v := range props {
		switch {
		case k == propID:
			m.ID = v
		case k == propTime:
			if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
				m.Time = time.Unix(0, ns)
			}
		case reserved(k): // RocketMQ's, not a header
		default:
			if m.Headers == nil {
				m.Headers = make(map[string]string, len(props))
			}
			m.Headers[k] = v
		}
	}
	if m.ID == "" {
		m.ID = props[primitive.PropertyUniqueClientMessageIdKeyIndex]
		if m.ID == "" {
			m.ID = e.MsgId
		}
	}
	if m.Time.IsZero() {
		m.Time = time.UnixMilli(e.BornTimestamp)
	}
	return m
}
