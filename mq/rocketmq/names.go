package rocketmq

import (
	"fmt"
	"strings"

	"github.com/groundwork-go/groundwork/mq"
)

// Longest names RocketMQ's validators accept, and the longest namespace
// the provider takes (it is part of every name: "ns%topic").
const (
	maxTopicLen     = 127
	maxGroupLen     = 255
	maxNamespaceLen = 64
)

// checkNamespace reports a namespace RocketMQ would refuse as part of a
// name, or that would take most of a topic's length.
func checkNamespace(ns string) error {
	if len(ns) > maxNamespaceLen {
		return fmt.Errorf("namespace %q: longer than %d bytes", ns, maxNamespaceLen)
	}
	for i := 0; i < len(ns); i++ {
		if c := ns[i]; !legalByte(c) && c != '_' {
			return fmt.Errorf("namespace %q: want the characters a-z, A-Z, 0-9, \"_\" and \"-\" only", ns)
		}
	}
	return nil
}

// topicName and groupName are nativeName with the room the namespace
// ("ns%") takes out of RocketMQ's limit.
func (c *conn) topicName(topic string) (string, error) {
	return nativeName("topic", topic, maxTopicLen-c.nsLen())
}

func (c *conn) groupName(group string) (string, error) {
	return nativeName("group", group, maxGroupLen-c.nsLen())
}

func (c *conn) nsLen() int { return nsRoom(c.opts.Namespace) }

// nsRoom is what namespace ns ("ns%" in front of every name) takes out of
// RocketMQ's name limits.
func nsRoom(ns string) int {
	if ns == "" {
		return 0
	}
	return len(ns) + 1
}

// nativeName writes an mq topic or group name in the characters RocketMQ
// allows (see # Names): a name of [a-zA-Z0-9_|-] that holds no "_" and
// two upper-case hex digits as it is, any other with every byte outside
// [a-zA-Z0-9-] as "_" and two upper-case hex digits. The mapping is
// one-to-one: an escaped name always holds such an escape, which a name
// used as it is never does, so "a.b" (a_2Eb) and "a_2Eb" (a_5F2Eb) stay
// two topics.
func nativeName(what, name string, limit int) (string, error) {
	system := systemName(name)
	plain := !system
	for i := 0; i < len(name) && plain; i++ {
		switch c := name[i]; {
		case c == '_':
			plain = i+2 >= len(name) || !upperHex(name[i+1]) || !upperHex(name[i+2])
		case !legalByte(c) && c != '|':
			plain = false
		}
	}
	out := name
	if !plain {
		var b strings.Builder
		for i := 0; i < len(name); i++ {
			// A system name's first byte is escaped too: its other
			// bytes may all be legal ("TBW102").
			if c := name[i]; legalByte(c) && !(system && i == 0) {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "_%02X", c)
			}
		}
		out = b.String()
	}
	if len(out) > limit {
		return "", fmt.Errorf("%w: %s %q is %d bytes as a RocketMQ name (%q), over RocketMQ's limit of %d (less the namespace's)", mq.ErrInvalid, what, name, len(out), out, limit)
	}
	return out, nil
}

// systemNames are RocketMQ's own topics and groups (Java's TopicValidator
// and MixAll). An mq name equal to one, or starting with one of their
// prefixes, is escaped, so that no mq topic or group is the broker's.
var systemNames = map[string]bool{
	"TBW102": true, "SCHEDULE_TOPIC_XXXX": true, "SCHEDULE_TOPIC_XXXX_V2": true, "BenchmarkTest": true,
	"RMQ_SYS_TRANS_HALF_TOPIC": true, "RMQ_SYS_TRACE_TOPIC": true, "RMQ_SYS_TRANS_OP_HALF_TOPIC": true,
	"TRANS_CHECK_MAX_TIME_TOPIC": true, "SELF_TEST_TOPIC": true, "OFFSET_MOVED_EVENT": true,
	"TOOLS_CONSUMER": true, "FILTERSRV_CONSUMER": true, "__MONITOR_CONSUMER": true, "CLIENT_INNER_PRODUCER": true,
	"SELF_TEST_P_GROUP": true, "SELF_TEST_C_GROUP": true, "CID_ONS-HTTP-PROXY": true, "CID_ONSAPI_PERMISSION": true,
	"CID_ONSAPI_OWNER": true, "CID_ONSAPI_PULL": true, "DEFAULT_CONSUMER": true, "DEFAULT_PRODUCER": true,
}

func systemName(name string) bool {
	return systemNames[name] || strings.HasPrefix(name, "rmq_sys_") || strings.HasPrefix(name, "CID_RMQ_SYS_")
}

func legalByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func upperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }
