package mq

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// idLen is the length of a canonical UUID string.
const idLen = 36

// newIDs gives every message of msgs that has no ID a UUIDv7 (RFC 9562):
// 48 bits of Unix milliseconds, a 12-bit counter (rand_a) that starts at a
// random value and counts up through the batch so that a batch's IDs sort
// in publish order, and 62 random bits. The whole batch takes one read
// from crypto/rand and one allocation for its strings, where generating
// them one by one (google/uuid's NewV7 and String) takes a read and two
// allocations each.
func newIDs(msgs []*Message, now time.Time) error {
	n := 0
	for _, m := range msgs {
		if m != nil && m.ID == "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	random := make([]byte, 2+8*n)
	if _, err := rand.Read(random); err != nil {
		return fmt.Errorf("mq: new message IDs: %w", err)
	}
	seq := binary.BigEndian.Uint16(random)
	random = random[2:]
	ms := uint64(now.UnixMilli())
	var sb strings.Builder
	sb.Grow(idLen * n)
	for _, m := range msgs {
		if m == nil || m.ID != "" {
			continue
		}
		var u [16]byte
		binary.BigEndian.PutUint64(u[:8], ms<<16|0x7000|uint64(seq&0x0fff)) // time, version 7, rand_a
		copy(u[8:], random[:8])
		u[8] = u[8]&0x3f | 0x80 // variant 10
		random = random[8:]
		seq++
		start := sb.Len()
		writeUUID(&sb, &u)
		m.ID = sb.String()[start:]
	}
	return nil
}

// writeUUID writes u in the canonical 8-4-4-4-12 form.
func writeUUID(sb *strings.Builder, u *[16]byte) {
	var buf [idLen]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	sb.Write(buf[:])
}
