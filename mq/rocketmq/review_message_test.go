package rocketmq

import (
	"errors"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// TestReviewReservedHeaders: every property name RocketMQ's Java
// MessageConst gives a meaning (its STRING_HASH_SET, which Java's
// putUserProperty refuses, and the other PROPERTY_ constants) is refused
// as a header, and so is a name with the "__RMQ.TRANSIENT." prefix, which
// the broker does not store: such a header would be lost, or acted on.
func TestReviewReservedHeaders(t *testing.T) {
	for _, name := range []string{
		"KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP",
		"MIN_OFFSET", "MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID", "TRANSFER_FLAG", "CORRECTION_FLAG",
		"MQ2_FLAG", "RECONSUME_TIME", "MSG_REGION", "TRACE_ON", "UNIQ_KEY", "EXTEND_UNIQ_INFO",
		"MAX_RECONSUME_TIMES", "CONSUME_START_TIME", "INNER_NUM", "INNER_BASE", "DUP_INFO",
		"CHECK_IMMUNITY_TIME_IN_SECONDS", "TRAN_PREPARED_QUEUE_OFFSET", "__transactionId__",
		"TRANSACTION_CHECK_TIMES", "INSTANCE_ID", "CORRELATION_ID", "REPLY_TO_CLIENT", "TTL", "ARRIVE_TIME",
		"PUSH_REPLY_TIME", "CLUSTER", "MSG_TYPE", "POP_CK", "POP_CK_OFFSET", "1ST_POP_TIME", "__SHARDINGKEY",
		"SHARDING_KEY", "PROPERTY_FORWARD_QUEUE_ID", "REDIRECT", "INNER_MULTI_DISPATCH",
		"INNER_MULTI_QUEUE_OFFSET", "TRACE_CONTEXT", "TIMER_DELAY_SEC", "TIMER_DELIVER_MS", "__BORNHOST",
		"BORN_TIMESTAMP", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS", "TIMER_ROLL_TIMES", "TIMER_OUT_MS",
		"TIMER_DEL_UNIQKEY", "TIMER_DELAY_LEVEL", "TIMER_DELAY_MS",
		"__RMQ.TRANSIENT.TOPIC_SYS_FLAG", "__RMQ.TRANSIENT.anything",
	} {
		m := &driver.Message{Topic: "t", Headers: map[string]string{name: "1"}}
		if _, err := toNative(m); !errors.Is(err, mq.ErrInvalid) {
			t.Errorf("header %q: %v, want ErrInvalid", name, err)
		}
	}
}

// TestReviewForeignGarbage: a message from another producer with a
// garbage or empty mq-time, an empty mq-id, or properties named like
// RocketMQ's gets its born time, its unique key as ID, and no system
// property among its headers.
func TestReviewForeignGarbage(t *testing.T) {
	for _, tm := range []string{"", "soon", "1e9", "99999999999999999999999"} {
		var e primitive.MessageExt
		e.MsgId, e.BornTimestamp = "OFFSETID", 1_700_000_000_000
		e.WithProperties(map[string]string{propTime: tm, propID: "", primitive.PropertyUniqueClientMessageIdKeyIndex: "UNIQ",
			"TAGS": "x", "__RMQ.TRANSIENT.TOPIC_SYS_FLAG": "1", "h": "v"})
		m := fromNative(&e, "t")
		if m.ID != "UNIQ" || !m.Time.Equal(time.UnixMilli(1_700_000_000_000)) || len(m.Headers) != 1 || m.Headers["h"] != "v" {
			t.Errorf("mq-time %q: got ID %q, Time %v, headers %q", tm, m.ID, m.Time, m.Headers)
		}
	}
}
