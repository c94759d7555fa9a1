package testserver

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// resetConn is the double's end of a connection whose client sent some
// frames and then reset it: reads return the frames, one per read, as
// the kernel still has them; every write fails as it does after a reset.
type resetConn struct {
	mu     sync.Mutex
	frames [][]byte
	closed bool
	writes int
}

func (c *resetConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.frames) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.frames[0])
	if c.frames[0] = c.frames[0][n:]; len(c.frames[0]) == 0 {
		c.frames = c.frames[1:]
	}
	return n, nil
}

func (c *resetConn) Write([]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return 0, &net.OpError{Op: "write", Net: "tcp", Err: errors.New("connection reset by peer")}
}

func (c *resetConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *resetConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10911}
}
func (c *resetConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *resetConn) SetDeadline(time.Time) error      { return nil }
func (c *resetConn) SetReadDeadline(time.Time) error  { return nil }
func (c *resetConn) SetWriteDeadline(time.Time) error { return nil }

// A consumer's Shutdown sends its offset commits (oneway) and closes the
// connection; the double's answer to a request sent before them (a
// long-polled pull, here an offset query) then fails to write. The
// commits were sent, a real broker has read them, and the group's
// offset must be what they said: the double once closed the connection
// on the failed write and dropped them, and the member taking the
// queues over resumed from an older offset.
func TestRocketMQCommitsSentBeforeAResetAreApplied(t *testing.T) {
	r := startRmqDouble(t)
	nc, err := net.Dial("tcp", r.BrokerAddr())
	if err != nil {
		t.Fatal(err)
	}
	if resp := rawCall(t, nc, 10, map[string]string{"topic": "t", "queueId": "0"}, []byte("m")); resp.Code != rmqSuccess {
		t.Fatalf("send: %d %s", resp.Code, resp.Remark)
	}
	nc.Close()

	q := map[string]string{"consumerGroup": "g", "topic": "t", "queueId": "0"}
	commit := func(off string) []byte {
		f, err := encodeRmqFrame(&rmqCommand{Code: 15, Opaque: 8, Flag: rmqFlagOneway,
			ExtFields: map[string]string{"consumerGroup": "g", "topic": "t", "queueId": "0", "commitOffset": off}}, rmqCodecJSON)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	conn := &resetConn{frames: [][]byte{rmqFrame(rmqCodecJSON, 14, q, nil), commit("1")}}
	c := newRmqConn(r, conn, rmqRoleBroker)
	r.wg.Add(1)
	c.readLoop() // returns at the end of the frames or when the connection is closed

	if conn.writes != 1 {
		t.Errorf("%d writes, want the one answer to the query", conn.writes)
	}
	if off, ok := r.CommittedOffset("g", "t", 0); !ok || off != 1 {
		t.Errorf("committed offset %d (%v) after a commit sent before the reset, want 1", off, ok)
	}
}
