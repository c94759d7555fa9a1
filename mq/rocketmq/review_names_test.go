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
	for _, s := range [][2]string{{"a.b", "a_2Eb"}, {"orders.dlq", "orders_2Edlq"}, {"_", "_5F"}, {"", "x"}, {"a|b", "a_7Cb"}} {
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
