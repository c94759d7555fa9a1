package testserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Data transfer packets, both directions:
//
//	uint32 payload length (4 + checksums + data) | uint16 header length |
//	PacketHeaderProto | checksums (4 bytes per chunk) | data
const (
	// dtMaxPacket bounds a packet's payload as the DataNode does (16 MiB).
	dtMaxPacket = 16 << 20
	// dtReadPacket is the data carried per packet on reads (64 KiB, as
	// dfs.client-write-packet-size is on writes).
	dtReadPacket = 64 << 10

	csumNull   = 0 // ChecksumTypeProto CHECKSUM_NULL
	csumCRC32  = 1
	csumCRC32C = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// packet is one decoded packet; sums and data alias the read buffer.
type packet struct {
	offset  int64
	seqno   int64
	last    bool
	dataLen int
	sums    []byte
	data    []byte
}

// readPacket reads one packet into buf (grown as needed and returned for
// reuse), checking its lengths against each other.
func readPacket(r io.Reader, buf []byte) (packet, []byte, error) {
	var pre [6]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return packet{}, buf, err
	}
	payload := binary.BigEndian.Uint32(pre[:4])
	hlen := int(binary.BigEndian.Uint16(pre[4:]))
	if payload < 4 || payload > dtMaxPacket {
		return packet{}, buf, fmt.Errorf("packet payload length %d out of range [4, %d]", payload, dtMaxPacket)
	}
	body := int(payload) - 4
	need := hlen + body
	var err error
	if cap(buf) >= need {
		buf = buf[:need]
		_, err = io.ReadFull(r, buf)
	} else {
		// Grown as bytes arrive, not allocated at the length claimed.
		var b []byte
		if b, err = io.ReadAll(io.LimitReader(r, int64(need))); err == nil && len(b) < need {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			buf = b
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return packet{}, buf, err
	}
	h, err := parsePB("hadoop.hdfs.PacketHeaderProto", buf[:hlen])
	if err != nil {
		return packet{}, buf, err
	}
	p := packet{offset: h.num("offsetInBlock"), seqno: h.num("seqno"), last: h.boolean("lastPacketInBlock"), dataLen: int(h.num("dataLen"))}
	if p.dataLen < 0 || p.dataLen > body {
		return packet{}, buf, fmt.Errorf("packet dataLen %d does not fit its %d-byte payload", p.dataLen, body)
	}
	p.sums = buf[hlen : hlen+body-p.dataLen]
	p.data = buf[hlen+body-p.dataLen:]
	return p, buf, nil
}

// checksumSize is the bytes per chunk checksum of a ChecksumTypeProto.
func checksumSize(typ int64) int {
	if typ == csumNull {
		return 0
	}
	return 4
}

// chunkSum is the checksum of one chunk.
func chunkSum(typ int64, chunk []byte) uint32 {
	if typ == csumCRC32 {
		return crc32.ChecksumIEEE(chunk)
	}
	return crc32.Checksum(chunk, castagnoli)
}

// appendSums appends the checksums of data's chunks of bpc bytes.
func appendSums(dst []byte, typ int64, bpc int, data []byte) []byte {
	if typ == csumNull {
		return dst
	}
	for off := 0; off < len(data); off += bpc {
		dst = binary.BigEndian.AppendUint32(dst, chunkSum(typ, data[off:min(off+bpc, len(data))]))
	}
	return dst
}

// verifySums checks a packet's checksums against its data; the error
// names the first bad chunk.
func verifySums(typ int64, bpc int, p packet) error {
	chunks := (p.dataLen + bpc - 1) / bpc
	if len(p.sums) != chunks*checksumSize(typ) {
		return fmt.Errorf("packet at offset %d: %d bytes of checksums for %d chunks", p.offset, len(p.sums), chunks)
	}
	if typ == csumNull {
		return nil
	}
	for i := range chunks {
		chunk := p.data[i*bpc : min((i+1)*bpc, len(p.data))]
		if got, want := chunkSum(typ, chunk), binary.BigEndian.Uint32(p.sums[4*i:]); got != want {
			return fmt.Errorf("checksum error in chunk %d of the packet at offset %d: computed %#08x, sent %#08x", i, p.offset, got, want)
		}
	}
	return nil
}

// appendPacket encodes a packet of data (and its checksums) at offset.
func appendPacket(dst []byte, offset, seqno int64, last bool, typ int64, bpc int, data []byte) ([]byte, error) {
	h, err := newPB("hadoop.hdfs.PacketHeaderProto").
		set("offsetInBlock", offset).set("seqno", seqno).
		set("lastPacketInBlock", last).set("dataLen", len(data)).marshal()
	if err != nil {
		return dst, err
	}
	sums := (len(data) + bpc - 1) / bpc * checksumSize(typ)
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+sums+len(data)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(h)))
	dst = append(dst, h...)
	dst = appendSums(dst, typ, bpc, data)
	return append(dst, data...), nil
}
