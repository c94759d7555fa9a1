package eventstore

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/groundwork-go/groundwork/mq/codec"
)

// Event is one event of an aggregate's stream. Version counts the
// aggregate's events from 1 and is assigned by Append; ID (a UUIDv7 when
// empty) is the ID of the message that announces the event; Time is set by
// Append (UTC, microseconds) when zero. Meta travels as message headers.
type Event struct {
	ID        string
	Aggregate string
	Type      string
	Version   uint64
	Data      []byte
	Meta      map[string]string
	Time      time.Time
}

// Headers of every published event message.
const (
	HeaderEventType    = "event-type"    // Event.Type
	HeaderAggregateID  = "aggregate-id"  // Event.Aggregate
	HeaderEventVersion = "event-version" // Event.Version, decimal
)

// maxName bounds aggregate names, types, IDs and Meta keys, in bytes.
const maxName = 255

// reserved are the Meta keys the Store writes itself: its headers, the
// codec's and the trace context's. Names starting with "mq-" belong to mq.
var reserved = map[string]bool{
	HeaderEventType: true, HeaderAggregateID: true, HeaderEventVersion: true,
	codec.HeaderContentType: true, codec.HeaderSchemaVersion: true, codec.HeaderMessageType: true,
	"traceparent": true, "tracestate": true, "baggage": true,
}

// checkName reports a name that is empty, longer than 255 bytes, not
// UTF-8 or holds a NUL: what neither a header nor PostgreSQL text keeps.
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	case len(s) > maxName:
		return fmt.Errorf("%w: %s %.40q... is %d bytes, over %d", ErrInvalid, what, s, len(s), maxName)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s %q holds a NUL byte", ErrInvalid, what, s)
	}
	return nil
}

// checkEvent checks what the caller gave for event i of an Append.
func checkEvent(i int, e *Event) error {
	if err := checkName(fmt.Sprintf("event %d: Type", i), e.Type); err != nil {
		return err
	}
	if e.ID != "" {
		if err := checkName(fmt.Sprintf("event %d: ID", i), e.ID); err != nil {
			return err
		}
	}
	for k, v := range e.Meta {
		if err := checkName(fmt.Sprintf("event %d: Meta key", i), k); err != nil {
			return err
		}
		lk := strings.ToLower(k)
		if reserved[lk] || strings.HasPrefix(lk, "mq-") {
			return fmt.Errorf("%w: event %d: Meta key %q is reserved (the store's, codec's, trace or mq- headers)", ErrInvalid, i, k)
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("%w: event %d: Meta[%q] is not UTF-8 text without NUL", ErrInvalid, i, k)
		}
	}
	return nil
}

// clone returns e with its own Data and Meta, so that a backend's copy and
// the caller's never share memory.
func (e Event) clone() Event {
	if e.Data != nil {
		e.Data = append([]byte{}, e.Data...)
	}
	if e.Meta != nil {
		m := make(map[string]string, len(e.Meta))
		for k, v := range e.Meta {
			m[k] = v
		}
		e.Meta = m
	}
	return e
}

// Clone returns a deep copy of e (Data and Meta not shared), for backends
// that keep events in memory.
func (e Event) Clone() Event { return e.clone() }
