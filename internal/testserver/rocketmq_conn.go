package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

type rmqRole int

const (
	rmqRoleNameServer rmqRole = iota
	rmqRoleBroker
)

// Response codes of RocketMQ's remoting protocol the double answers with.
const (
	rmqSuccess            = 0
	rmqSystemError        = 1
	rmqNotSupported       = 3
	rmqMessageIllegal     = 13
	rmqNoPermission       = 16
	rmqTopicNotExist      = 17
	rmqPullNotFound       = 19
	rmqPullRetryNow       = 20
	rmqPullOffsetMoved    = 21
	rmqQueryNotFound      = 22
	rmqSubscriptionAbsent = 24

	// rmqVersion is the version the double's responses carry (RocketMQ
	// 4.9.4's); the client records it as the broker's version.
	rmqVersion = 453
	// rmqWriteTimeout bounds a write to a client that stopped reading.
	rmqWriteTimeout = 10 * time.Second
)

// rmqConn is one client connection to the name server or the broker.
// Requests are processed in order on the reading goroutine (so a oneway
// offset commit is applied before the close that follows it); only a
// long-polled pull waits on a goroutine of its own.
type rmqConn struct {
	r    *RocketMQ
	nc   net.Conn
	role rmqRole

	wmu       sync.Mutex
	codec     byte // codec of the last request, used for pushed requests
	writeDead bool // a write failed: the client is gone, answer nothing more

	done      chan struct{}
	closeOnce sync.Once

	// Rebalances the client owes (one per NOTIFY_CONSUMER_IDS_CHANGED
	// pushed, one per group it joined) and GET_CONSUMER_LIST_BY_GROUP
	// requests it sent; guarded by r.mu. Tests use them to wait until a
	// client has no rebalance in flight (see rebalancesSettled).
	owed, listed int
}

func newRmqConn(r *RocketMQ, nc net.Conn, role rmqRole) *rmqConn {
	return &rmqConn{r: r, nc: nc, role: role, done: make(chan struct{})}
}

// close cuts the connection; the read loop then drops the client's
// registrations.
func (c *rmqConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// maxFrame bounds a request frame: room for a full batch of
// maximum-size messages plus headers, not more.
func (c *rmqConn) maxFrame() int { return 2*c.r.cfg.maxMessageBytes + 1<<20 }

func (c *rmqConn) readLoop() {
	defer c.r.wg.Done()
	defer c.forget()
	br := bufio.NewReader(c.nc)
	for {
		cmd, codec, err := readRmqFrame(br, c.maxFrame())
		if err != nil {
			// EOF, a cut connection or a malformed frame: a real broker
			// closes the channel on a decode error too.
			return
		}
		if !c.r.gate(c.done) {
			return
		}
		if cmd.isResponse() {
			continue // an answer to a request the double pushed
		}
		c.wmu.Lock()
		c.codec = codec
		c.wmu.Unlock()
		c.dispatch(cmd)
	}
}

// forget closes the connection and removes what was registered on it.
func (c *rmqConn) forget() {
	c.close()
	c.r.dropConn(c)
}

// dispatch processes one request and sends its response, if any.
func (c *rmqConn) dispatch(req *rmqCommand) {
	if code, ok := c.r.takeFault(req.Code); ok {
		c.reply(req, &rmqCommand{Code: code, Remark: fmt.Sprintf("testserver: injected failure for request code %d", req.Code)})
		return
	}
	var resp *rmqCommand
	if c.role == rmqRoleNameServer {
		resp = c.r.nameServerRequest(req)
	} else {
		resp = c.r.brokerRequest(c, req)
	}
	if resp != nil {
		c.reply(req, resp)
	}
}

// reply answers req with resp unless req was oneway.
func (c *rmqConn) reply(req, resp *rmqCommand) {
	if req.isOneway() {
		return
	}
	resp.Opaque = req.Opaque
	resp.Flag |= rmqFlagResponse
	c.send(resp)
}

// push sends a request of the double's own (oneway) to the client.
func (c *rmqConn) push(code int16, ext map[string]string, body []byte) {
	c.send(&rmqCommand{Code: code, Opaque: c.r.opaque.Add(1), Flag: rmqFlagOneway, ExtFields: ext, Body: body})
}

// send writes cmd, waiting while the double is paused.
//
// A write that fails because the client is gone (it closed or reset the
// connection) stops the answers but not the reading: the requests the
// client sent before it went are still in the socket, and a real broker,
// which reads eagerly, has them already and acts on them — the offset
// commits a consumer's Shutdown sends just before it closes, which the
// double's answer to an earlier request (a long-polled pull) can race.
// The read loop ends on its own at the end of the stream. Only a write
// that timed out (a client that stopped reading but stays connected)
// closes the connection.
func (c *rmqConn) send(cmd *rmqCommand) {
	if !c.r.gate(c.done) {
		return
	}
	cmd.Language = "JAVA"
	cmd.Version = rmqVersion
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeDead {
		return
	}
	frame, err := encodeRmqFrame(cmd, c.codec)
	if err != nil {
		c.close()
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(rmqWriteTimeout))
	if _, err := c.nc.Write(frame); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.close()
			return
		}
		c.writeDead = true
	}
}

// ok returns a success response with ext fields.
func rmqOK(ext map[string]string, body []byte) *rmqCommand {
	return &rmqCommand{Code: rmqSuccess, ExtFields: ext, Body: body}
}

// rmqErr returns an error response.
func rmqErr(code int16, format string, args ...any) *rmqCommand {
	return &rmqCommand{Code: code, Remark: fmt.Sprintf(format, args...)}
}

// brokerRequest processes one request to the broker.
func (r *RocketMQ) brokerRequest(c *rmqConn, req *rmqCommand) *rmqCommand {
	switch req.Code {
	case 10, 310: // SEND_MESSAGE, SEND_MESSAGE_V2
		return r.sendMessage(c, req, false)
	case 320: // SEND_BATCH_MESSAGE
		return r.sendMessage(c, req, true)
	case 11: // PULL_MESSAGE
		return r.pullMessage(c, req)
	case 14: // QUERY_CONSUMER_OFFSET
		return r.queryConsumerOffset(req)
	case 15: // UPDATE_CONSUMER_OFFSET
		return r.updateConsumerOffset(req)
	case 17: // UPDATE_AND_CREATE_TOPIC
		return r.createTopic(req)
	case 29: // SEARCH_OFFSET_BY_TIMESTAMP
		return r.searchOffset(req)
	case 30: // GET_MAX_OFFSET
		return r.maxOffset(req)
	case 31: // GET_MIN_OFFSET
		return r.minOffset(req)
	case 34: // HEART_BEAT
		return r.heartbeat(c, req)
	case 35: // UNREGISTER_CLIENT
		return r.unregisterClient(c, req)
	case 36: // CONSUMER_SEND_MSG_BACK
		return r.sendMsgBack(c, req)
	case 37: // END_TRANSACTION
		return r.endTransaction(req)
	case 38: // GET_CONSUMER_LIST_BY_GROUP
		return r.consumerList(c, req)
	case 41: // LOCK_BATCH_MQ
		return r.lockBatch(req)
	case 42: // UNLOCK_BATCH_MQ
		return r.unlockBatch(req)
	case 215: // DELETE_TOPIC_IN_BROKER
		return r.deleteTopic(req)
	}
	return rmqErr(rmqNotSupported, "request type %d not supported", req.Code)
}
