package mq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// The outage buffer stores each Publish call as one record:
//
//	version byte (1) | count uvarint | count × message
//	message: ID, Topic, Key, Payload as (uvarint length, bytes) |
//	         unix nanoseconds varint | header count uvarint | (key, value)…
const codecVersion = 1

var errCodec = errors.New("malformed buffered batch")

func encodeBatch(batch []driver.Message) []byte {
	n := 1 + binary.MaxVarintLen64
	for i := range batch {
		n += batch[i].Size() + 8*binary.MaxVarintLen64 + len(batch[i].Topic) + 2*binary.MaxVarintLen64*len(batch[i].Headers)
	}
	b := make([]byte, 0, n)
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(len(batch)))
	for i := range batch {
		m := &batch[i]
		b = appendString(b, m.ID)
		b = appendString(b, m.Topic)
		b = appendString(b, m.Key)
		b = appendString(b, string(m.Payload))
		b = binary.AppendVarint(b, m.Time.UnixNano())
		b = binary.AppendUvarint(b, uint64(len(m.Headers)))
		for k, v := range m.Headers {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad %s", errCodec, what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: %s of %d bytes, %d left", errCodec, what, n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// decodeBatch reverses encodeBatch. Every length is checked against what is
// left, so damaged input gives an error, never a panic or a huge allocation.
func decodeBatch(b []byte) ([]driver.Message, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return nil, fmt.Errorf("%w: unknown version", errCodec)
	}
	d := &decoder{b: b[1:]}
	count := d.uvarint("count")
	// Each message takes at least 6 bytes; bound the allocation by that.
	if d.err == nil && count > uint64(len(d.b))/6 {
		return nil, fmt.Errorf("%w: count %d does not fit in %d bytes", errCodec, count, len(d.b))
	}
	msgs := make([]driver.Message, 0, count)
	for i := uint64(0); i < count && d.err == nil; i++ {
		var m driver.Message
		m.ID = string(d.bytes("ID"))
		m.Topic = string(d.bytes("topic"))
		m.Key = string(d.bytes("key"))
		if p := d.bytes("payload"); len(p) > 0 {
			m.Payload = append([]byte(nil), p...)
		}
		if d.err == nil {
			ns, n := binary.Varint(d.b)
			if n <= 0 {
				d.err = fmt.Errorf("%w: bad time", errCodec)
				break
			}
			d.b = d.b[n:]
			m.Time = time.Unix(0, ns)
		}
		nh := d.uvarint("header count")
		if d.err == nil && nh > uint64(len(d.b))/2 {
			d.err = fmt.Errorf("%w: header count %d does not fit", errCodec, nh)
		}
		if d.err == nil && nh > 0 {
			m.Headers = make(map[string]string, nh)
			for range nh {
				k := string(d.bytes("header key"))
				m.Headers[k] = string(d.bytes("header value"))
			}
		}
		msgs = append(msgs, m)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCodec, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return msgs, nil
}
