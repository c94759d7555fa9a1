package redismq_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// tcpProxy forwards TCP connections to a Redis server, for tests that
// break the path between a member and the server. For each connection
// (client c, server u) it calls pump, which starts moving bytes both ways
// and may interfere.
type tcpProxy struct {
	l      net.Listener
	refuse atomic.Bool // new connections are closed at once
	mu     sync.Mutex
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string, pump func(c, u net.Conn)) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if p.refuse.Load() {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			pump(c, u)
		}
	}()
	t.Cleanup(func() { l.Close(); p.closeAll() })
	return p
}

// closeAll closes every connection made so far, both sides.
func (p *tcpProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// forward is the plain pump: bytes both ways until either side ends.
func forward(c, u net.Conn) {
	go func() { io.Copy(u, c); u.Close() }()
	go func() { io.Copy(c, u); c.Close() }()
}

// pumpReplies moves the server's replies to the client until either side
// ends. When drop says so for a reply, the reply is thrown away, both
// sides are cut (a reply lost on the wire after the server acted on the
// command) and dropped is closed.
func pumpReplies(c, u net.Conn, drop func(reply []byte) bool, dropped chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := u.Read(buf)
		if n > 0 && drop(buf[:n]) {
			c.Close()
			u.Close()
			close(dropped)
			return
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			c.Close()
			return
		}
	}
}
