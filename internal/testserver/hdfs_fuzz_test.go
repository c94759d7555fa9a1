package testserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// Bad bytes from a client never panic the double and never make it build
// a message wrong (h.fail): the NameNode and DataNode connection handlers
// are run over fuzzed streams. The seeds (valid conversations and broken
// ones) run in the normal suite.

// fuzzHDFS is the double's state with no listeners.
func fuzzHDFS() *HDFS {
	o := hdfsOptions{blockSize: 1 << 20, xattrs: true, listLimit: 2, superuser: "hdfs"}
	return newHDFS(o, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9866})
}

// streamConn is a net.Conn reading a fixed stream and discarding writes.
type streamConn struct {
	r   io.Reader
	out bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *streamConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// frame encodes varint-delimited messages as one hrpc frame.
func frame(t testing.TB, msgs ...*pb) []byte {
	t.Helper()
	var body []byte
	for _, m := range msgs {
		b, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		body = binary.AppendUvarint(body, uint64(len(b)))
		body = append(body, b...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func rpcHeader(callID int) *pb {
	return newPB("hadoop.common.RpcRequestHeaderProto").set("rpcKind", "RPC_PROTOCOL_BUFFER").
		set("rpcOp", "RPC_FINAL_PACKET").set("callId", callID).set("clientId", []byte("0123456789abcdef"))
}

func callFrame(t testing.TB, id int, method string, req *pb) []byte {
	rh := newPB("hadoop.common.RequestHeaderProto").set("methodName", method).
		set("declaringClassProtocolName", hrpcProtocol).set("clientProtocolVersion", 1)
	return frame(t, rpcHeader(id), rh, req)
}

// nameNodeSeed is a whole conversation: preamble, context, calls.
func nameNodeSeed(t testing.TB) []byte {
	s := []byte("hrpc\x09\x00\x00")
	ctx := newPB("hadoop.common.IpcConnectionContextProto").
		set("userInfo", newPB("hadoop.common.UserInformationProto").set("effectiveUser", "alice")).
		set("protocol", hrpcProtocol)
	s = append(s, frame(t, rpcHeader(hrpcContextCallID), ctx)...)
	perm := newPB("hadoop.hdfs.FsPermissionProto").set("perm", 0o755)
	s = append(s, callFrame(t, 0, "mkdirs", newPB("hadoop.hdfs.MkdirsRequestProto").set("src", "/d/e").set("masked", perm).set("createParent", true))...)
	s = append(s, callFrame(t, 1, "getFileInfo", newPB("hadoop.hdfs.GetFileInfoRequestProto").set("src", "/d"))...)
	s = append(s, callFrame(t, 2, "getListing", newPB("hadoop.hdfs.GetListingRequestProto").set("src", "/d").set("startAfter", []byte{}).set("needLocation", false))...)
	s = append(s, callFrame(t, 3, "create", newPB("hadoop.hdfs.CreateRequestProto").set("src", "/d/f").set("masked", perm).
		set("clientName", "c").set("createFlag", 1).set("createParent", false).set("replication", 1).set("blockSize", 1<<20))...)
	s = append(s, callFrame(t, 4, "addBlock", newPB("hadoop.hdfs.AddBlockRequestProto").set("src", "/d/f").set("clientName", "c"))...)
	return s
}

func FuzzHDFSNameNodeStream(f *testing.F) {
	seed := nameNodeSeed(f)
	f.Add(seed)
	f.Add(seed[:7])                   // preamble only
	f.Add(seed[:20])                  // cut inside the context frame
	f.Add([]byte("hrpc\x08\x00\x00")) // another IPC version
	f.Add([]byte("hrpc\x09\x00\xdf")) // SASL
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(append([]byte("hrpc\x09\x00\x00"), 0xff, 0xff, 0xff, 0xff))         // a 4 GiB frame
	f.Add(append(seed[:len(seed)-3], 0, 0, 0))                                // a call cut short
	f.Add(append(append([]byte(nil), seed...), 0, 0, 0, 3, 0x80, 0x80, 0x80)) // a bad varint
	f.Add(append(append([]byte(nil), seed...), callFrame(f, 9, "nosuch", newPB("hadoop.hdfs.GetFileInfoRequestProto").set("src", "/"))...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		h := fuzzHDFS()
		c := &streamConn{r: bytes.NewReader(stream)}
		h.serveNameNode(c) // returns at the end of the stream
		for _, err := range h.takeErrs() {
			t.Error(err)
		}
	})
}

// TestHDFSNameNodeSeedAnswers checks the fuzz seed is a real conversation:
// every call is answered, the listing call with SUCCESS.
func TestHDFSNameNodeSeedAnswers(t *testing.T) {
	h := fuzzHDFS()
	c := &streamConn{r: bytes.NewReader(nameNodeSeed(t))}
	h.serveNameNode(c)
	out := c.out.Bytes()
	for id := range 5 {
		resp, err := readFrame(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("answer %d: %v", id, err)
		}
		out = out[4+len(resp):]
		hb, _, err := nextDelimited(resp)
		if err != nil {
			t.Fatal(err)
		}
		rh, err := parsePB("hadoop.common.RpcResponseHeaderProto", hb)
		if err != nil {
			t.Fatal(err)
		}
		if rh.num("callId") != int64(id) || rh.num("status") != 0 {
			t.Errorf("answer %d: call id %d status %d (%s: %s)", id, rh.num("callId"), rh.num("status"), rh.str("exceptionClassName"), rh.str("errorMsg"))
		}
	}
	if len(out) != 0 {
		t.Errorf("%d bytes after the 5 answers", len(out))
	}
}

// fuzzDataNode is fuzzHDFS with block 1<<30+1 (stamp 1001) allocated to a
// file being written and a finalized replica of block 7 (stamp 1, 1000
// bytes) to read.
func fuzzDataNode(t testing.TB) *HDFS {
	h := fuzzHDFS()
	c := caller{user: "alice"}
	perm := newPB("hadoop.hdfs.FsPermissionProto").set("perm", 0o644)
	if _, err := nnCreate(h.ns, c, newPB("hadoop.hdfs.CreateRequestProto").set("src", "/f").set("masked", perm).
		set("clientName", "c").set("createFlag", 1).set("createParent", false).set("replication", 1).set("blockSize", 1<<20)); err != nil {
		t.Fatal(err)
	}
	if _, err := nnAddBlock(h.ns, c, newPB("hadoop.hdfs.AddBlockRequestProto").set("src", "/f").set("clientName", "c")); err != nil {
		t.Fatal(err)
	}
	h.dn.replicas[7] = &replica{gen: 1, csumType: csumCRC32C, bpc: 512, data: pattern(1000, 7), finalized: true}
	return h
}

func dtOp(t testing.TB, op byte, m *pb) []byte {
	b, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := []byte{0, dtVersion, op}
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

func dtBlock(id, gen uint64) *pb {
	return newPB("hadoop.hdfs.BaseHeaderProto").set("block", newPB("hadoop.hdfs.ExtendedBlockProto").
		set("poolId", hdfsPoolID).set("blockId", id).set("generationStamp", gen).set("numBytes", 0))
}

// dataNodeSeeds are a block write (two packets, the empty last one), a
// read and a checksum request.
func dataNodeSeeds(t testing.TB) [][]byte {
	write := dtOp(t, opWriteBlock, newPB("hadoop.hdfs.OpWriteBlockProto").
		set("header", newPB("hadoop.hdfs.ClientOperationHeaderProto").set("baseHeader", dtBlock(1<<30+1, 1001)).set("clientName", "c")).
		set("stage", "PIPELINE_SETUP_CREATE").set("pipelineSize", 0).set("minBytesRcvd", 0).set("maxBytesRcvd", 0).
		set("latestGenerationStamp", 0).
		set("requestedChecksum", newPB("hadoop.hdfs.ChecksumProto").set("type", "CHECKSUM_CRC32C").set("bytesPerChecksum", 512)))
	var err error
	if write, err = appendPacket(write, 0, 1, false, csumCRC32C, 512, pattern(700, 1)); err != nil {
		t.Fatal(err)
	}
	if write, err = appendPacket(write, 700, 2, true, csumCRC32C, 512, nil); err != nil {
		t.Fatal(err)
	}
	read := dtOp(t, opReadBlock, newPB("hadoop.hdfs.OpReadBlockProto").
		set("header", newPB("hadoop.hdfs.ClientOperationHeaderProto").set("baseHeader", dtBlock(7, 1)).set("clientName", "c")).
		set("offset", 100).set("len", 800))
	sum := dtOp(t, opBlockChecksum, newPB("hadoop.hdfs.OpBlockChecksumProto").set("header", dtBlock(7, 1)))
	return [][]byte{write, read, sum}
}

func FuzzHDFSDataNodeStream(f *testing.F) {
	for _, s := range dataNodeSeeds(f) {
		f.Add(s)
		f.Add(s[:len(s)/2])
	}
	f.Add([]byte{0, 27, opWriteBlock}) // another protocol version
	f.Add([]byte{0, dtVersion, 0x99})  // an unknown op
	f.Add([]byte{0, dtVersion, opReadBlock, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, stream []byte) {
		h := fuzzDataNode(t)
		h.serveDataNode(&streamConn{r: bytes.NewReader(stream)})
		for _, err := range h.takeErrs() {
			t.Error(err)
		}
	})
}

// TestHDFSDataNodeSeedAnswers checks the write seed is a real block write:
// the replica ends finalized with the packet's data.
func TestHDFSDataNodeSeedAnswers(t *testing.T) {
	h := fuzzDataNode(t)
	h.serveDataNode(&streamConn{r: bytes.NewReader(dataNodeSeeds(t)[0])})
	if n, ok := h.dn.finalizedLen(1<<30 + 1); !ok || n != 700 {
		t.Fatalf("replica after the seed write: %d bytes, finalized %v; want 700, true", n, ok)
	}
	c := &streamConn{r: bytes.NewReader(dataNodeSeeds(t)[1])}
	h.serveDataNode(c)
	resp, err := readDelimited(bufio.NewReader(&c.out), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := parsePB("hadoop.hdfs.BlockOpResponseProto", resp); err != nil || m.num("status") != 0 || m.sub("readOpChecksumInfo").unum("chunkOffset") != 0 {
		t.Fatalf("read answer: %v, %v", m, err)
	}
}
