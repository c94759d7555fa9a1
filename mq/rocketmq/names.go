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
// allows (see # Names): a name of [a-zA-Z0-9_|-] as it is, any other with
// every byte outside [a-zA-Z0-9-] as "_" and two hex digits.
func nativeName(what, name string, limit int) (string, error) {
	plain := true
	for i := 0; i < len(name); i++ {
		if !legalByte(name[i]) && name[i] != '_' && name[i] != '|' {
			plain = false
			break
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
