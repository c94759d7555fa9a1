package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Kinds of what sits under a key in Redis: the first byte of the stored
// value. A lease ('l') or a write marker ('w') holds the place of an entry
// while a load or a write-through save is under way (see lease.go); a
// reader sees either as a miss.
const (
	kindValue    = 'v'
	kindNegative = 'n'
	kindLease    = 'l'
	kindWriting  = 'w'
)

// headLen is the length of a stored value's head: its kind and its id, a
// random 8 bytes that change with every write. A conditional fill compares
// heads (see lease.go).
const headLen = 9

// tagVersionLen is the length of a tag version: 16 hex digits.
const tagVersionLen = 16

// entry is what a key holds, in L1 and (encoded) in Redis.
type entry[V any] struct {
	v        V
	negative bool
	// id names the write that stored the entry (Set, a load): its head
	// in Redis is kind|id.
	id uint64
	// delta is how long the load that produced v took (0 for Set): the
	// Δ of XFetch, how early a refresh should start.
	delta time.Duration
	tags  []tagVersion
	// expires is when the L1 copy goes; staleAt when the Redis entry does.
	expires, staleAt time.Time
}

// tagVersion is a tag with the version it had when the entry was written:
// the entry is valid while the tag still has that version.
type tagVersion struct{ tag, version string }

// head is e's kind and id as stored in Redis.
func (e *entry[V]) head() string {
	kind := byte(kindValue)
	if e.negative {
		kind = kindNegative
	}
	return makeHead(kind, e.id)
}

func makeHead(kind byte, id uint64) string {
	return string(binary.BigEndian.AppendUint64([]byte{kind}, id))
}

// errPlaceholder: what sits under the key is a lease or a write marker,
// not an entry.
var errPlaceholder = errors.New("cache: a lease, not an entry")

// encode lays an entry out as stored in Redis:
//
//	kind byte | 8-byte id | uvarint Δ µs | uvarint tag count | (uvarint len, tag, 16-byte version)* | payload
//
// with the payload the codec's bytes ([]byte values as they are), empty for
// a negative entry.
func (c *Cache[V]) encode(e *entry[V]) ([]byte, error) {
	var payload []byte
	if !e.negative {
		if b, ok := any(e.v).([]byte); ok {
			payload = b
		} else {
			var err error
			if payload, err = c.o.codec.Marshal(e.v); err != nil {
				return nil, fmt.Errorf("cache: encode: %w", err)
			}
		}
	}
	size := headLen + 2*binary.MaxVarintLen64 + len(payload)
	for _, t := range e.tags {
		size += binary.MaxVarintLen64 + len(t.tag) + tagVersionLen
	}
	buf := make([]byte, 1, size)
	buf[0] = kindValue
	if e.negative {
		buf[0] = kindNegative
	}
	buf = binary.BigEndian.AppendUint64(buf, e.id)
	buf = binary.AppendUvarint(buf, uint64(e.delta/time.Microsecond))
	buf = binary.AppendUvarint(buf, uint64(len(e.tags)))
	for _, t := range e.tags {
		buf = binary.AppendUvarint(buf, uint64(len(t.tag)))
		buf = append(buf, t.tag...)
		buf = append(buf, t.version...)
	}
	return append(buf, payload...), nil
}

// decode parses what encode wrote; errPlaceholder for a lease or a write
// marker. raw comes from Redis, where anything may have written it: every
// length is checked.
func (c *Cache[V]) decode(raw []byte) (*entry[V], error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty entry", ErrInvalid)
	}
	e := &entry[V]{}
	switch raw[0] {
	case kindNegative:
		e.negative = true
	case kindValue:
	case kindLease, kindWriting:
		return nil, errPlaceholder
	default:
		return nil, fmt.Errorf("%w: entry of unknown kind %q (not written by this package?)", ErrInvalid, raw[0])
	}
	if len(raw) < headLen {
		return nil, fmt.Errorf("%w: entry without an id", ErrInvalid)
	}
	e.id = binary.BigEndian.Uint64(raw[1:headLen])
	rest := raw[headLen:]
	delta, n := binary.Uvarint(rest)
	if n <= 0 || delta > uint64(maxDelta/time.Microsecond) {
		return nil, fmt.Errorf("%w: entry with a bad load duration", ErrInvalid)
	}
	e.delta, rest = time.Duration(delta)*time.Microsecond, rest[n:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: entry with a bad tag count", ErrInvalid)
	}
	rest = rest[n:]
	if count > 0 {
		e.tags = make([]tagVersion, count)
	}
	for i := range e.tags {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) || uint64(len(rest)-n)-l < tagVersionLen {
			return nil, fmt.Errorf("%w: entry with a truncated tag", ErrInvalid)
		}
		rest = rest[n:]
		e.tags[i] = tagVersion{tag: string(rest[:l]), version: string(rest[l : l+tagVersionLen])}
		rest = rest[l+tagVersionLen:]
	}
	switch {
	case e.negative:
		if len(rest) != 0 {
			return nil, fmt.Errorf("%w: negative entry with a payload", ErrInvalid)
		}
	case isBytes[V]():
		// raw is the caller's own copy (go-redis copies a reply out):
		// keep its tail rather than copying again. Capped, so that an
		// append by the user reallocates instead of writing past it.
		*any(&e.v).(*[]byte) = rest[:len(rest):len(rest)]
	default:
		if err := c.o.codec.Unmarshal(rest, &e.v); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
	}
	return e, nil
}

// maxDelta bounds a stored load duration: anything longer is not a load
// duration this package wrote.
const maxDelta = 24 * time.Hour

func isBytes[V any]() bool {
	var v V
	_, ok := any(v).([]byte)
	return ok
}

// jittered spreads d by ±jitter.
func (c *Cache[V]) jittered(d time.Duration) time.Duration {
	if c.o.jitter == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + c.o.jitter*(2*rand.Float64()-1)))
}
