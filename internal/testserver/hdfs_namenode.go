package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// namespace is the NameNode's state: the inode tree, the blocks it has
// handed out and the client leases. One mutex serializes every call, as
// the NameNode's global lock does for writes.
type namespace struct {
	mu        sync.Mutex
	opts      *hdfsOptions
	root      *inode
	nextInode uint64
	nextBlock uint64
	nextGen   uint64
	blocks    map[uint64]*nnBlock
	leases    map[string]time.Time // client name -> last renewLease
	dn        *datanode

	completeNotYet int            // CompleteNotYet's count
	loseAnswer     map[string]int // LoseAnswer's counts, by method
}

func newNamespace(opts *hdfsOptions, dn *datanode) *namespace {
	now := nowMillis()
	ns := &namespace{opts: opts, dn: dn, nextInode: 16385, nextBlock: 1 << 30, nextGen: 1000,
		blocks: map[uint64]*nnBlock{}, leases: map[string]time.Time{}}
	// HDFS's root inode id is 16385. The root is world-writable so any
	// user can make its own tree (a real cluster's / is hdfs:supergroup
	// 0755 and users get /user/<name>).
	ns.root = &inode{id: ns.nextInode, dir: true, children: map[string]*inode{}, perm: 0o777,
		owner: opts.superuser, group: "supergroup", mtime: now, atime: now}
	return ns
}

// nnMethod is one ClientProtocol call the double answers.
type nnMethod struct {
	req string // request message name
	fn  func(*namespace, caller, *pb) (*pb, *rpcError)
}

var nnMethods = map[string]nnMethod{
	"getFileInfo":            {"hadoop.hdfs.GetFileInfoRequestProto", nnGetFileInfo},
	"mkdirs":                 {"hadoop.hdfs.MkdirsRequestProto", nnMkdirs},
	"getListing":             {"hadoop.hdfs.GetListingRequestProto", nnGetListing},
	"rename2":                {"hadoop.hdfs.Rename2RequestProto", nnRename2},
	"delete":                 {"hadoop.hdfs.DeleteRequestProto", nnDelete},
	"setPermission":          {"hadoop.hdfs.SetPermissionRequestProto", nnSetPermission},
	"setOwner":               {"hadoop.hdfs.SetOwnerRequestProto", nnSetOwner},
	"setTimes":               {"hadoop.hdfs.SetTimesRequestProto", nnSetTimes},
	"getServerDefaults":      {"hadoop.hdfs.GetServerDefaultsRequestProto", nnGetServerDefaults},
	"create":                 {"hadoop.hdfs.CreateRequestProto", nnCreate},
	"addBlock":               {"hadoop.hdfs.AddBlockRequestProto", nnAddBlock},
	"updateBlockForPipeline": {"hadoop.hdfs.UpdateBlockForPipelineRequestProto", nnUpdateBlockForPipeline},
	"complete":               {"hadoop.hdfs.CompleteRequestProto", nnComplete},
	"abandonBlock":           {"hadoop.hdfs.AbandonBlockRequestProto", nnAbandonBlock},
	"getBlockLocations":      {"hadoop.hdfs.GetBlockLocationsRequestProto", nnGetBlockLocations},
	"renewLease":             {"hadoop.hdfs.RenewLeaseRequestProto", nnRenewLease},
	"setXAttr":               {"hadoop.hdfs.SetXAttrRequestProto", nnSetXAttr},
	"getXAttrs":              {"hadoop.hdfs.GetXAttrsRequestProto", nnGetXAttrs},
	"listXAttrs":             {"hadoop.hdfs.ListXAttrsRequestProto", nnListXAttrs},
	"removeXAttr":            {"hadoop.hdfs.RemoveXAttrRequestProto", nnRemoveXAttr},
}

// serveNameNode speaks hrpc on one client connection until it closes.
func (h *HDFS) serveNameNode(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	if err := readPreamble(r); err != nil {
		h.answerFatal(conn, err)
		return
	}
	frame, err := readFrame(r)
	if err != nil {
		h.answerFatal(conn, err)
		return
	}
	user, err := decodeContext(frame)
	if err != nil {
		h.answerFatal(conn, err)
		return
	}
	c := caller{user: user, super: user == h.opts.superuser}
	for {
		frame, err := readFrame(r)
		if err != nil {
			h.answerFatal(conn, err)
			return
		}
		if !h.gate.wait(h.done) {
			return
		}
		out, closing := h.handleFrame(c, frame)
		if out != nil {
			if _, err := conn.Write(out); err != nil {
				return
			}
		}
		if closing {
			return
		}
	}
}

// answerFatal answers an IPC-layer error (one the server raises, not a
// connection that just ended) with a FATAL response before closing.
func (h *HDFS) answerFatal(conn net.Conn, err error) {
	var rerr *rpcError
	if !errors.As(err, &rerr) {
		return // EOF, reset, closed: nothing to answer
	}
	if out, err := encodeResponse(&rpcCall{callID: -1, retry: -1}, nil, rerr); err == nil {
		conn.Write(out)
	}
}

// handleFrame answers one request frame; closing says the connection must
// close after the answer (a FATAL error, or the client asked).
func (h *HDFS) handleFrame(c caller, frame []byte) (out []byte, closing bool) {
	call, err := decodeCall(frame)
	var rerr *rpcError
	if err != nil {
		errors.As(err, &rerr)
		if call == nil {
			call = &rpcCall{callID: -1, retry: -1}
		}
	} else if call.closing {
		return nil, true
	}
	var resp *pb
	if rerr == nil {
		resp, rerr = h.dispatch(c, call)
	}
	if rerr == errAnswerLost {
		return nil, true // carried out; the connection cut before the answer
	}
	out, err = encodeResponse(call, resp, rerr)
	if err != nil {
		// A message the double built wrong: a bug here, reported at cleanup.
		h.fail(fmt.Errorf("hdfs double: answer to %s: %w", call.method, err))
		out, _ = encodeResponse(call, nil, fatalErr("ERROR_SERIALIZING_RESPONSE", "%v", err))
		return out, true
	}
	return out, rerr != nil && rerr.fatal
}

func (h *HDFS) dispatch(c caller, call *rpcCall) (*pb, *rpcError) {
	if call.protocol != hrpcProtocol {
		return nil, &rpcError{class: exProtocolMismatch, msg: "Unknown protocol: " + call.protocol, detail: "ERROR_NO_SUCH_PROTOCOL"}
	}
	m, ok := nnMethods[call.method]
	if !ok {
		return nil, &rpcError{class: exNoSuchMethod, msg: fmt.Sprintf("Unknown method %s called on %s protocol.", call.method, hrpcProtocol), detail: "ERROR_NO_SUCH_METHOD"}
	}
	req, err := parsePB(m.req, call.body)
	if err != nil {
		return nil, fatalErr("FATAL_DESERIALIZING_REQUEST", "IPC server unable to read call parameters: %v", err)
	}
	h.ns.mu.Lock()
	defer h.ns.mu.Unlock()
	h.calls[call.method]++
	resp, rerr := m.fn(h.ns, c, req)
	if rerr == nil && h.ns.loseAnswer[call.method] > 0 {
		h.ns.loseAnswer[call.method]--
		return nil, errAnswerLost
	}
	return resp, rerr
}
