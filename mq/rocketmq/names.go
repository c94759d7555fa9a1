package rocketmq

import (
	"fmt"
	"strings"

	"github.com/groundwork-go/groundwork/mq"
)

// Longest names RocketMQ's validators accept.
const (
	maxTopicLen = 127
	maxGroupLen = 255
)

// nativeName writes an mq topic or group name in the characters RocketMQ
// allows (see # Names): a name of [a-zA-Z0-9_|-] that holds no "_" and
// two upper-case hex digits as it is, any other with every byte outside
// [a-zA-Z0-9-] as "_" and two upper-case hex digits. The mapping is
// one-to-one: an escaped name always holds such an escape, which a name
// used as it is never does, so "a.b" (a_2Eb) and "a_2Eb" (a_5F2Eb) stay
// two topics.
func nativeName(what, name string, limit int) (string, error) {
	plain := true
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
			if c := name[i]; legalByte(c) {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "_%02X", c)
			}
		}
		out = b.String()
	}
	if len(out) > limit {
		return "", fmt.Errorf("%w: %s %q is %d bytes as a RocketMQ name (%q), over RocketMQ's limit of %d", mq.ErrInvalid, what, name, len(out), out, limit)
	}
	return out, nil
}

func legalByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func upperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }
