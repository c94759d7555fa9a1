package testserver

import (
	"bufio"
	"crypto/md5"
	"fmt"
	"net"
)

// READ_BLOCK: the client sends OpReadBlockProto (offset, len), the
// DataNode answers a BlockOpResponseProto with the checksum type and the
// chunk boundary it starts at, then packets of data with their chunk
// checksums up to the chunk boundary past offset+len, then an empty packet
// marked lastPacketInBlock. A Java client then sends a
// ClientReadStatusProto; it is read when it comes.

func (h *HDFS) dnReadBlock(conn net.Conn, rd *bufio.Reader, body []byte) {
	op, err := parsePB("hadoop.hdfs.OpReadBlockProto", body)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	id, gen, _, err := opBlock(op.sub("header").sub("baseHeader"))
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	rep, src, length, done, err := h.dn.contents(id, gen)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	defer done()
	size := uint64(length)
	off, n := op.unum("offset"), op.unum("len")
	if off > size || n > size-off {
		h.dnRefuse(conn, "ERROR", fmt.Sprintf("Offset %d and length %d don't match block blk_%d ( blockLen %d )", off, n, id, size))
		return
	}
	typ, bpc := rep.csumType, rep.bpc
	if op.has("sendChecksums") && !op.boolean("sendChecksums") {
		typ = csumNull
	}
	start := off - off%uint64(bpc)
	end := min((off+n+uint64(bpc)-1)/uint64(bpc)*uint64(bpc), size)
	info := newPB("hadoop.hdfs.ReadOpChecksumInfoProto").
		set("checksum", newPB("hadoop.hdfs.ChecksumProto").set("type", int(typ)).set("bytesPerChecksum", bpc)).
		set("chunkOffset", start)
	if !h.gate.wait(h.done) || !h.dnAnswer(conn, newPB("hadoop.hdfs.BlockOpResponseProto").set("status", "SUCCESS").set("readOpChecksumInfo", info)) {
		return
	}
	step := uint64(max(1, dtReadPacket/bpc) * bpc)
	var out []byte
	buf := make([]byte, step)
	seqno := int64(0)
	for pos := start; ; pos += step {
		last := pos >= end
		var data []byte
		if !last {
			data = buf[:min(pos+step, end)-pos]
			if _, err := src.ReadAt(data, int64(pos)); err != nil {
				h.fail(fmt.Errorf("hdfs double: read replica of blk_%d: %w", id, err))
				return
			}
		}
		if out, err = appendPacket(out[:0], int64(min(pos, end)), seqno, last, typ, bpc, data); err != nil {
			h.fail(fmt.Errorf("hdfs double: read packet: %w", err))
			return
		}
		if !h.gate.wait(h.done) {
			return
		}
		if _, err := conn.Write(out); err != nil || last {
			break
		}
		seqno++
	}
	// The read status, if the client sends one; colinmarc's client does
	// not, and just closes the connection.
	readDelimited(rd, 1<<10)
}

// BLOCK_CHECKSUM: the MD5 of the block's chunk checksums, as the
// DataNode computes it from the block's metadata file.
func (h *HDFS) dnBlockChecksum(conn net.Conn, body []byte) {
	op, err := parsePB("hadoop.hdfs.OpBlockChecksumProto", body)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	id, gen, _, err := opBlock(op.sub("header"))
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	rep, src, length, done, err := h.dn.contents(id, gen)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	defer done()
	block := make([]byte, length)
	if _, err := src.ReadAt(block, 0); err != nil && length > 0 {
		h.fail(fmt.Errorf("hdfs double: read replica of blk_%d: %w", id, err))
		return
	}
	typ := rep.csumType
	if typ == csumNull {
		typ = csumCRC32C // a block written without checksums gets them computed
	}
	sums := appendSums(nil, typ, rep.bpc, block)
	digest := md5.Sum(sums)
	resp := newPB("hadoop.hdfs.OpBlockChecksumResponseProto").
		set("bytesPerCrc", rep.bpc).
		set("crcPerBlock", len(sums)/4).
		set("blockChecksum", digest[:]).
		set("crcType", int(typ))
	if h.gate.wait(h.done) {
		h.dnAnswer(conn, newPB("hadoop.hdfs.BlockOpResponseProto").set("status", "SUCCESS").set("checksumResponse", resp))
	}
}
