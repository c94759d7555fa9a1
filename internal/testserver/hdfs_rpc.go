package testserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Hadoop IPC ("hrpc") framing, as the NameNode speaks it to clients:
//
//	preamble: "hrpc" | version 9 | service class | auth protocol (0 = none)
//	frame:    uint32 length | varint+RpcRequestHeaderProto | varint+RequestHeaderProto | varint+request
//	response: uint32 length | varint+RpcResponseHeaderProto | varint+response (on success only)
//
// The first frame after the preamble carries call id -3 and an
// IpcConnectionContextProto naming the user.
const (
	hrpcVersion       = 9
	hrpcAuthNone      = 0
	hrpcContextCallID = -3
	hrpcProtocol      = "org.apache.hadoop.hdfs.protocol.ClientProtocol"
	// hrpcMaxFrame bounds a request frame as ipc.maximum.data.length does
	// (Hadoop's default is 128 MiB; nothing the client sends comes near).
	hrpcMaxFrame = 64 << 20
)

// rpcError is an error answered to the client the way Hadoop answers an
// exception: status ERROR (or FATAL, after which the connection closes),
// the Java exception class, its message and an error code.
type rpcError struct {
	class  string
	msg    string
	detail string // RpcErrorCodeProto name
	fatal  bool
}

func (e *rpcError) Error() string { return e.class + ": " + e.msg }

// javaErr is an application exception (ERROR_APPLICATION): the connection
// stays open.
func javaErr(class, format string, args ...any) *rpcError {
	return &rpcError{class: class, msg: fmt.Sprintf(format, args...), detail: "ERROR_APPLICATION"}
}

// fatalErr is an IPC-layer failure: answered with status FATAL, then the
// connection is closed, as Hadoop's server does.
func fatalErr(detail, format string, args ...any) *rpcError {
	return &rpcError{class: exRPCServer, msg: fmt.Sprintf(format, args...), detail: detail, fatal: true}
}

// Java exception classes the client maps (its error.go) or shows.
const (
	exFileNotFound     = "java.io.FileNotFoundException"
	exIO               = "java.io.IOException"
	exAlreadyExists    = "org.apache.hadoop.fs.FileAlreadyExistsException"
	exParentNotDir     = "org.apache.hadoop.fs.ParentNotDirectoryException"
	exNotEmpty         = "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException"
	exAccess           = "org.apache.hadoop.security.AccessControlException"
	exBeingCreated     = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException"
	exLeaseExpired     = "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException"
	exNotReplicatedYet = "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException"
	exInvalidPath      = "org.apache.hadoop.fs.InvalidPathException"
	exComponentTooLong = "org.apache.hadoop.hdfs.protocol.FSLimitException$PathComponentTooLongException"
	exRPCServer        = "org.apache.hadoop.ipc.RpcServerException"
	exIllegalArgument  = "org.apache.hadoop.HadoopIllegalArgumentException"
	exNoSuchMethod     = "org.apache.hadoop.ipc.RpcNoSuchMethodException"
	exUnsupportedOp    = "java.lang.UnsupportedOperationException"
	exProtocolMismatch = "org.apache.hadoop.ipc.RpcNoSuchProtocolException"
	exVersionMismatch  = "org.apache.hadoop.ipc.RPC$VersionMismatch"
	exUnauthorized     = "org.apache.hadoop.security.AccessControlException"
)

// rpcCall is one decoded request frame.
type rpcCall struct {
	callID   int32
	clientID []byte
	retry    int32
	closing  bool // rpcOp RPC_CLOSE_CONNECTION
	method   string
	protocol string
	body     []byte // the request message, still encoded
}

// readPreamble reads the 7-byte connection preamble and checks it.
func readPreamble(r io.Reader) error {
	var b [7]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	if string(b[:4]) != "hrpc" {
		return fatalErr("FATAL_INVALID_RPC_HEADER", "bad connection preamble %q", b[:4])
	}
	if b[4] != hrpcVersion {
		return &rpcError{class: exVersionMismatch, msg: fmt.Sprintf("server IPC version %d cannot communicate with client version %d", hrpcVersion, b[4]), detail: "FATAL_VERSION_MISMATCH", fatal: true}
	}
	if b[6] != hrpcAuthNone {
		// SASL (Kerberos, tokens) is not modelled: the double runs with
		// hadoop.security.authentication=simple and refuses the rest.
		return &rpcError{class: exUnauthorized, msg: fmt.Sprintf("auth protocol %#x is not supported by the test double (simple authentication only)", b[6]), detail: "FATAL_UNAUTHORIZED", fatal: true}
	}
	return nil
}

// readFrame reads one length-prefixed frame, refusing lengths over
// hrpcMaxFrame before allocating.
func readFrame(r io.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > hrpcMaxFrame {
		return nil, fatalErr("FATAL_INVALID_RPC_HEADER", "RPC frame of %d bytes is over the %d-byte limit", n, hrpcMaxFrame)
	}
	// Grown as bytes arrive, not allocated at the length claimed: a client
	// announcing 64 MiB and sending 10 bytes costs 10 bytes.
	b, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(b) < int(n) {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

// nextDelimited splits a varint-length-prefixed message off the front of b.
func nextDelimited(b []byte) (msg, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errors.New("bad length prefix")
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// decodeHeader reads the RpcRequestHeaderProto at the front of a frame.
func decodeHeader(frame []byte) (*rpcCall, []byte, error) {
	hb, rest, err := nextDelimited(frame)
	if err != nil {
		return nil, nil, fatalErr("FATAL_INVALID_RPC_HEADER", "RPC request header: %v", err)
	}
	h, err := parsePB("hadoop.common.RpcRequestHeaderProto", hb)
	if err != nil {
		return nil, nil, fatalErr("FATAL_INVALID_RPC_HEADER", "%v", err)
	}
	c := &rpcCall{callID: int32(h.num("callId")), clientID: h.bytes("clientId"), retry: -1, closing: h.num("rpcOp") == 2}
	if h.has("retryCount") {
		c.retry = int32(h.num("retryCount"))
	}
	if h.has("rpcKind") && h.num("rpcKind") != 2 { // RPC_PROTOCOL_BUFFER
		return c, nil, fatalErr("FATAL_UNSUPPORTED_SERIALIZATION", "RPC kind %d is not supported (protocol buffers only)", h.num("rpcKind"))
	}
	return c, rest, nil
}

// decodeContext decodes the connection-context frame and returns the
// effective user it names.
func decodeContext(frame []byte) (string, error) {
	c, rest, err := decodeHeader(frame)
	if err != nil {
		return "", err
	}
	if c.callID != hrpcContextCallID {
		return "", fatalErr("FATAL_INVALID_RPC_HEADER", "connection context expected first (call id %d), got call id %d", hrpcContextCallID, c.callID)
	}
	cb, rest, err := nextDelimited(rest)
	if err != nil || len(rest) != 0 {
		return "", fatalErr("FATAL_DESERIALIZING_REQUEST", "connection context: malformed frame")
	}
	ctx, err := parsePB("hadoop.common.IpcConnectionContextProto", cb)
	if err != nil {
		return "", fatalErr("FATAL_DESERIALIZING_REQUEST", "%v", err)
	}
	if p := ctx.str("protocol"); p != "" && p != hrpcProtocol {
		return "", &rpcError{class: exProtocolMismatch, msg: "unknown protocol: " + p, detail: "ERROR_NO_SUCH_PROTOCOL", fatal: true}
	}
	user := ""
	if ui := ctx.sub("userInfo"); ui != nil {
		user = ui.str("effectiveUser")
	}
	if user == "" {
		return "", &rpcError{class: exUnauthorized, msg: "connection context names no user", detail: "FATAL_UNAUTHORIZED", fatal: true}
	}
	return user, nil
}

// decodeCall decodes a request frame after the connection context.
func decodeCall(frame []byte) (*rpcCall, error) {
	c, rest, err := decodeHeader(frame)
	if err != nil {
		return c, err
	}
	if c.closing {
		return c, nil
	}
	rb, rest, err := nextDelimited(rest)
	if err != nil {
		return c, fatalErr("FATAL_DESERIALIZING_REQUEST", "request header: %v", err)
	}
	rh, err := parsePB("hadoop.common.RequestHeaderProto", rb)
	if err != nil {
		return c, fatalErr("FATAL_DESERIALIZING_REQUEST", "%v", err)
	}
	c.method, c.protocol = rh.str("methodName"), rh.str("declaringClassProtocolName")
	body, rest, err := nextDelimited(rest)
	if err != nil || len(rest) != 0 {
		return c, fatalErr("FATAL_DESERIALIZING_REQUEST", "IPC server unable to read call parameters of %s", c.method)
	}
	c.body = body
	return c, nil
}

// encodeResponse builds a response frame: the header, then resp when the
// call succeeded (rerr nil).
func encodeResponse(c *rpcCall, resp *pb, rerr *rpcError) ([]byte, error) {
	h := newPB("hadoop.common.RpcResponseHeaderProto").
		set("callId", uint32(c.callID)).
		set("serverIpcVersionNum", hrpcVersion).
		set("clientId", c.clientID).
		set("retryCount", c.retry)
	var body []byte
	if rerr == nil {
		h.set("status", "SUCCESS")
		var err error
		if body, err = resp.marshal(); err != nil {
			return nil, err
		}
	} else {
		status := "ERROR"
		if rerr.fatal {
			status = "FATAL"
		}
		h.set("status", status).set("exceptionClassName", rerr.class).set("errorMsg", rerr.msg).set("errorDetail", rerr.detail)
	}
	hb, err := h.marshal()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+2*binary.MaxVarintLen32+len(hb)+len(body))
	out = binary.AppendUvarint(out, uint64(len(hb)))
	out = append(out, hb...)
	if rerr == nil {
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out, nil
}
