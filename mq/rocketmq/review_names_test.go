package rocketmq

import (
	"testing"
)

// TestReviewNamesInjective: two different mq names never become one
// RocketMQ name. A plain name that looks like an escape ("a_2Eb") must
// not be the escape of another ("a.b"): mq's dead-letter topic of
// "orders" ("orders.dlq") would otherwise be the user topic
// "orders_2Edlq".
func TestReviewNamesInjective(t *testing.T) {
	pairs := [][2]string{
		{"a.b", "a_2Eb"},
		{"orders.dlq", "orders_2Edlq"},
		{"a|b.", "a_7Cb_2E"},
		{"x%y", "x_25y"},
		{"_", "_5F"},
		{"é", "_C3_A9"},
	}
	for _, p := range pairs {
		a, errA := nativeName("topic", p[0], maxTopicLen)
		b, errB := nativeName("topic", p[1], maxTopicLen)
		if errA != nil || errB != nil {
			t.Fatalf("%q, %q: %v, %v", p[0], p[1], errA, errB)
		}
		if a == b {
			t.Errorf("topics %q and %q are both the RocketMQ topic %q", p[0], p[1], a)
		}
	}
	// Names RocketMQ allows and that look like no escape stay as they are.
	for _, plain := range []string{"orders", "orders_v2", "a_b", "a|b", "A-Z_0-9", "x_2eb", "x_G1"} {
		if got, err := nativeName("topic", plain, maxTopicLen); err != nil || got != plain {
			t.Errorf("%q became %q (%v), want it unchanged", plain, got, err)
		}
	}
}

// FuzzReviewNativeName: nativeName is injective and its output is a
// legal RocketMQ name.
func FuzzReviewNativeName(f *testing.F) {
	for _, s := range [][2]string{{"a.b", "a_2Eb"}, {"orders.dlq", "orders_2Edlq"}, {"_", "_5F"}, {"", "x"}, {"a|b", "a_7Cb"}, {"TBW102", "_54BW102"}, {"rmq_sys_x", "_72mq_5Fsys_5Fx"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, x, y string) {
		a, errA := nativeName("topic", x, 1<<20)
		b, errB := nativeName("topic", y, 1<<20)
		if errA != nil || errB != nil {
			t.Fatalf("%v %v", errA, errB)
		}
		for _, n := range []string{a, b} {
			for i := 0; i < len(n); i++ {
				if c := n[i]; !legalByte(c) && c != '_' && c != '|' {
					t.Fatalf("%q holds %q", n, c)
				}
			}
		}
		if x != y && a == b {
			t.Fatalf("%q and %q both become %q", x, y, a)
		}
	})
}

// TestReviewSystemNamesUnreachable: no mq topic or group is one of
// RocketMQ's own (TBW102, the schedule and transaction topics, the tools'
// groups...): internal names live where no user-supplied name reaches.
func TestReviewSystemNamesUnreachable(t *testing.T) {
	for _, n := range []string{"TBW102", "SCHEDULE_TOPIC_XXXX", "SCHEDULE_TOPIC_XXXX_V2", "BenchmarkTest",
		"RMQ_SYS_TRANS_HALF_TOPIC", "RMQ_SYS_TRACE_TOPIC", "RMQ_SYS_TRANS_OP_HALF_TOPIC", "TRANS_CHECK_MAX_TIME_TOPIC",
		"SELF_TEST_TOPIC", "OFFSET_MOVED_EVENT", "rmq_sys_REVIVE_LOG_x", "rmq_sys_wheel_timer",
		"TOOLS_CONSUMER", "FILTERSRV_CONSUMER", "__MONITOR_CONSUMER", "CLIENT_INNER_PRODUCER", "SELF_TEST_P_GROUP",
		"SELF_TEST_C_GROUP", "CID_ONS-HTTP-PROXY", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER", "CID_ONSAPI_PULL",
		"CID_RMQ_SYS_TRANS", "DEFAULT_CONSUMER", "DEFAULT_PRODUCER"} {
		for _, what := range []string{"topic", "group"} {
			got, err := nativeName(what, n, maxGroupLen)
			if err != nil || got == n {
				t.Errorf("%s %q became %q (%v): RocketMQ's own", what, n, got, err)
			}
		}
	}
}
