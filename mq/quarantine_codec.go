package mq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// A quarantine entry is one WAL record (which gives it a length and a
// CRC32C):
//
//	version byte (1) | kind byte | unix nanoseconds varint (when) |
//	reason (uvarint length, bytes) | body
//
// where the body is, for kind 1, a message encoded as the outage buffer
// encodes a one-message batch (codec.go), and for kind 2 the raw bytes of a
// buffered record that did not decode.
const (
	quarantineVersion = 1
	kindMessage       = 1
	kindRaw           = 2
)

var errEntry = errors.New("malformed quarantine entry")

// quarantineEntry is what goes into the quarantine: a message, or raw
// bytes that were meant to be one.
type quarantineEntry struct {
	msg    *driver.Message // nil for raw
	raw    []byte
	reason string
	at     time.Time // zero: now
}

func encodeEntry(e quarantineEntry) []byte {
	at := e.at
	if at.IsZero() {
		at = time.Now()
	}
	kind, body := byte(kindRaw), e.raw
	if e.msg != nil {
		kind, body = kindMessage, encodeBatch([]driver.Message{*e.msg})
	}
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(e.reason)+len(body))
	b = append(b, quarantineVersion, kind)
	b = binary.AppendVarint(b, at.UnixNano())
	b = appendString(b, e.reason)
	return append(b, body...)
}

// decodeEntry reverses encodeEntry. Damaged input gives an error wrapping
// errEntry, never a panic or an allocation beyond len(b).
func decodeEntry(b []byte) (quarantineEntry, error) {
	var e quarantineEntry
	if len(b) < 2 || b[0] != quarantineVersion {
		return e, fmt.Errorf("%w: unknown version", errEntry)
	}
	kind := b[1]
	ns, n := binary.Varint(b[2:])
	if n <= 0 {
		return e, fmt.Errorf("%w: bad time", errEntry)
	}
	e.at = time.Unix(0, ns)
	d := &decoder{b: b[2+n:]}
	e.reason = string(d.bytes("reason"))
	if d.err != nil {
		return e, fmt.Errorf("%w: %v", errEntry, d.err)
	}
	switch kind {
	case kindRaw:
		e.raw = append([]byte(nil), d.b...)
	case kindMessage:
		msgs, err := decodeBatch(d.b)
		if err != nil {
			return e, fmt.Errorf("%w: %v", errEntry, err)
		}
		if len(msgs) != 1 {
			return e, fmt.Errorf("%w: %d messages, want 1", errEntry, len(msgs))
		}
		e.msg = &msgs[0]
	default:
		return e, fmt.Errorf("%w: unknown kind %d", errEntry, kind)
	}
	return e, nil
}
