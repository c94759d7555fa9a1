package testserver

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// The DataNode's side of DataTransferProtocol v28: each connection
// carries one operation,
//
//	uint16 version (28) | uint8 op | varint+Op*Proto
//
// answered with a varint-delimited BlockOpResponseProto and then the
// operation's own traffic (packets, acks).
const (
	dtVersion       = 28
	opWriteBlock    = 0x50
	opReadBlock     = 0x51
	opBlockChecksum = 0x55
	// dtMaxOpMessage bounds an operation's message (they are a few hundred
	// bytes).
	dtMaxOpMessage = 1 << 20
)

// datanode holds the replicas: in memory, one byte slice per block, or
// one file per block under root (HDFSBlockDir).
type datanode struct {
	addr      *net.TCPAddr
	uuid      string
	storageID string
	dropAfter dropSwitch
	root      *os.Root        // nil: replicas in memory
	fail      func(err error) // reports the double's own failures

	mu       sync.Mutex
	replicas map[uint64]*replica
}

// replica is a block's data on the DataNode. Being written (rbw) until
// the last packet arrives, then finalized and never changed again.
type replica struct {
	gen       uint64
	csumType  int64  // ChecksumTypeProto
	bpc       int    // bytes per checksum
	data      []byte // in memory (name == "")
	finalized bool

	name string   // its file under the block directory, if kept there
	w    *os.File // that file, open while the replica is being written
	n    int64    // bytes written to the file
}

func newDatanode(addr *net.TCPAddr) *datanode {
	return &datanode{addr: addr, uuid: "groundwork-double-dn-1", storageID: "DS-groundwork-double-1", replicas: map[uint64]*replica{}}
}

// info is the DatanodeInfoProto the NameNode hands out in block locations.
func (dn *datanode) info() *pb {
	id := newPB("hadoop.hdfs.DatanodeIDProto").
		set("ipAddr", dn.addr.IP.String()).
		set("hostName", dn.addr.IP.String()).
		set("datanodeUuid", dn.uuid).
		set("xferPort", dn.addr.Port).
		set("infoPort", 0).
		set("ipcPort", 0)
	return newPB("hadoop.hdfs.DatanodeInfoProto").set("id", id).set("adminState", "NORMAL")
}

// finalizedLen reports the length of block id's finalized replica.
func (dn *datanode) finalizedLen(id uint64) (uint64, bool) {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	r := dn.replicas[id]
	if r == nil || !r.finalized {
		return 0, false
	}
	return uint64(r.size()), true
}

// drop forgets block id's replica (its file was deleted or overwritten, or
// the block abandoned).
func (dn *datanode) drop(id uint64) {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if r := dn.replicas[id]; r != nil {
		delete(dn.replicas, id)
		dn.removeFile(r)
	}
}

// finalizedLocked returns block id's replica if it is finalized with
// stamp gen; called with dn.mu held.
func (dn *datanode) finalizedLocked(id, gen uint64) (*replica, error) {
	r := dn.replicas[id]
	switch {
	case r == nil:
		return nil, fmt.Errorf("replica not found for %s:blk_%d_%d", hdfsPoolID, id, gen)
	case !r.finalized:
		return nil, fmt.Errorf("replica of blk_%d is being written, not finalized", id)
	case r.gen != gen:
		return nil, fmt.Errorf("replica of blk_%d has generation stamp %d, not %d", id, r.gen, gen)
	}
	return r, nil
}

// serveDataNode answers the one operation a client connection carries.
func (h *HDFS) serveDataNode(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 128<<10)
	var head [3]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return
	}
	if v := binary.BigEndian.Uint16(head[:2]); v != dtVersion {
		h.dnRefuse(conn, "ERROR", fmt.Sprintf("Version Mismatch (Expected: %d, Received: %d )", dtVersion, v))
		return
	}
	body, err := readDelimited(r, dtMaxOpMessage)
	if err != nil {
		h.dnRefuse(conn, "ERROR", err.Error())
		return
	}
	switch head[2] {
	case opWriteBlock:
		h.dnWriteBlock(conn, r, body)
	case opReadBlock:
		h.dnReadBlock(conn, r, body)
	case opBlockChecksum:
		h.dnBlockChecksum(conn, body)
	default:
		h.dnRefuse(conn, "ERROR_UNSUPPORTED", fmt.Sprintf("Unknown op %#x in data stream", head[2]))
	}
}

// dnRefuse answers an operation with a failed BlockOpResponseProto.
func (h *HDFS) dnRefuse(conn net.Conn, status, msg string) {
	if !h.gate.wait(h.done) {
		return
	}
	h.dnAnswer(conn, newPB("hadoop.hdfs.BlockOpResponseProto").set("status", status).set("message", msg))
}

// dnAnswer writes a varint-delimited message; false when it could not
// (the connection is gone, or a message the double built wrong).
func (h *HDFS) dnAnswer(w io.Writer, m *pb) bool {
	b, err := m.marshal()
	if err != nil {
		h.fail(fmt.Errorf("hdfs double: DataNode answer: %w", err))
		return false
	}
	out := binary.AppendUvarint(make([]byte, 0, len(b)+binary.MaxVarintLen32), uint64(len(b)))
	_, err = w.Write(append(out, b...))
	return err == nil
}

// readDelimited reads a varint length (at most limit) and that many bytes.
func readDelimited(r *bufio.Reader, limit uint64) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("message length: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("message of %d bytes is over the %d-byte limit", n, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(n))) // grown as bytes arrive
	if err == nil && uint64(len(b)) < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return b, nil
}

// opBlock reads the block an operation names from its BaseHeaderProto.
func opBlock(base *pb) (id, gen, numBytes uint64, err error) {
	if base == nil || base.sub("block") == nil {
		return 0, 0, 0, errors.New("operation names no block")
	}
	b := base.sub("block")
	return b.unum("blockId"), b.unum("generationStamp"), b.unum("numBytes"), nil
}
