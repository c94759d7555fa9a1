package testserver

import (
	"bufio"
	"fmt"
	"net"
)

// WRITE_BLOCK: the client sends OpWriteBlockProto, the DataNode answers a
// BlockOpResponseProto, then the client streams packets, each answered in
// order with a PipelineAckProto. The empty packet marked lastPacketInBlock
// ends the block: the replica is finalized before that packet is acked,
// so the NameNode finds it when the client next calls addBlock or
// complete.

const stagePipelineSetupCreate = 6 // OpWriteBlockProto.BlockConstructionStage

// expectWrite checks the NameNode handed out block id with stamp gen to a
// file still being written, and returns the most bytes the block may
// hold (the file's block size).
func (ns *namespace) expectWrite(id, gen uint64) (uint64, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	b := ns.blocks[id]
	switch {
	case b == nil:
		return 0, fmt.Errorf("block blk_%d_%d was never allocated by the NameNode", id, gen)
	case b.gen != gen:
		return 0, fmt.Errorf("block blk_%d has generation stamp %d, not %d", id, b.gen, gen)
	case b.committed || b.file.holder == "":
		return 0, fmt.Errorf("block blk_%d_%d is already committed", id, gen)
	}
	return b.file.blockSize, nil
}

// create starts the replica of a new block.
func (dn *datanode) create(id, gen uint64, typ int64, bpc int) (*replica, error) {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if old := dn.replicas[id]; old != nil {
		state := "RBW"
		if old.finalized {
			state = "FINALIZED"
		}
		return nil, fmt.Errorf("block %s:blk_%d_%d already exists in state %s and thus cannot be created", hdfsPoolID, id, gen, state)
	}
	r := &replica{gen: gen, csumType: typ, bpc: bpc}
	if dn.root != nil {
		if err := dn.createFile(r, id, gen); err != nil {
			return nil, err
		}
	}
	dn.replicas[id] = r
	return r, nil
}

// write appends a packet's data to the replica, and finalizes it on the
// last packet (trimming spare capacity: a block is held once, not with
// the slack of its growth).
func (dn *datanode) write(r *replica, data []byte, last bool) error {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if r.name != "" {
		return r.writeFile(data, last)
	}
	r.data = append(r.data, data...)
	if last {
		if cap(r.data)-len(r.data) > len(r.data)/8 {
			r.data = append(make([]byte, 0, len(r.data)), r.data...)
		}
		r.finalized = true
	}
	return nil
}

func (dn *datanode) length(r *replica) int64 {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	return r.size()
}

func (h *HDFS) dnWriteBlock(conn net.Conn, rd *bufio.Reader, body []byte) {
	op, err := parsePB("hadoop.hdfs.OpWriteBlockProto", body)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	id, gen, _, err := opBlock(op.sub("header").sub("baseHeader"))
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	if op.num("stage") != stagePipelineSetupCreate {
		h.dnRefuse(conn, "ERROR_UNSUPPORTED", fmt.Sprintf("block construction stage %d is not modelled by the test double (new blocks only: no append or pipeline recovery)", op.num("stage")))
		return
	}
	if len(op.list("targets")) > 0 {
		h.dnRefuse(conn, "ERROR_UNSUPPORTED", "pipelines beyond one DataNode are not modelled by the test double")
		return
	}
	cs := op.sub("requestedChecksum")
	typ, bpc := cs.num("type"), int(cs.unum("bytesPerChecksum"))
	if typ < csumNull || typ > csumCRC32C || bpc <= 0 || bpc > dtMaxPacket {
		h.dnRefuse(conn, "ERROR_UNSUPPORTED", fmt.Sprintf("checksum type %d with %d bytes per checksum is not supported", typ, bpc))
		return
	}
	limit, err := h.ns.expectWrite(id, gen)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	rep, err := h.dn.create(id, gen, typ, bpc)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	defer h.dn.release(rep)
	if !h.gate.wait(h.done) || !h.dnAnswer(conn, newPB("hadoop.hdfs.BlockOpResponseProto").set("status", "SUCCESS").set("firstBadLink", "")) {
		return
	}
	var buf []byte
	lastSeqno := int64(0)
	for {
		var p packet
		p, buf, err = readPacket(rd, buf)
		if err != nil || !h.gate.wait(h.done) {
			return // the client went away, or a broken packet: the replica stays unfinished
		}
		if p.seqno == -1 && p.dataLen == 0 && !p.last { // heartbeat
			if !h.dnAck(conn, -1, "SUCCESS") {
				return
			}
			continue
		}
		if h.dn.dropAfter.drop(int64(p.dataLen)) {
			return // DropDataNodeAfter: the DataNode dies with this packet unkept
		}
		status := "SUCCESS"
		switch have := h.dn.length(rep); {
		case p.seqno <= lastSeqno:
			status = "ERROR" // out of sequence
		case p.offset != have:
			status = "ERROR" // a gap or an overlap in the block
		case uint64(p.offset)+uint64(p.dataLen) > limit:
			status = "ERROR" // past the file's block size
		case verifySums(typ, bpc, p) != nil:
			status = "ERROR_CHECKSUM"
		}
		if status != "SUCCESS" {
			h.dnAck(conn, p.seqno, status)
			return
		}
		lastSeqno = p.seqno
		if err := h.dn.write(rep, p.data, p.last); err != nil {
			h.fail(fmt.Errorf("hdfs double: write replica: %w", err))
			h.dnAck(conn, p.seqno, "ERROR")
			return
		}
		if !h.dnAck(conn, p.seqno, "SUCCESS") || p.last {
			return
		}
	}
}

// dnAck acknowledges packet seqno for the one-node pipeline.
func (h *HDFS) dnAck(conn net.Conn, seqno int64, status string) bool {
	return h.dnAnswer(conn, newPB("hadoop.hdfs.PipelineAckProto").set("seqno", seqno).set("reply", []any{status}))
}
