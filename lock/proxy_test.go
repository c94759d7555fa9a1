package lock_test

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// replyDropper is a TCP proxy in front of a redis-server that, once armed,
// swallows the server's reply to the next script call (EVALSHA or EVAL) it
// forwards, as a network that loses a reply does: the script runs on the
// server, and the client waits for an answer that never comes, times
// out, and (if it retries) sends the command again on a new connection.
type replyDropper struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	dropped chan struct{} // closed when a reply has been swallowed

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

func newReplyDropper(t *testing.T, target string) *replyDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyDropper{ln: ln, target: target, dropped: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is where clients connect.
func (p *replyDropper) Addr() string { return p.ln.Addr().String() }

// arm makes the proxy swallow the reply to the next script call.
func (p *replyDropper) arm() { p.armed.Store(true) }

func (p *replyDropper) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		var dropNext atomic.Bool
		p.wg.Add(2)
		go func() { // client -> server
			defer p.wg.Done()
			defer s.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					// Marked before forwarding: the server cannot answer
					// before it has the command.
					if isScriptCall(buf[:n]) && p.armed.Load() {
						dropNext.Store(true)
					}
					if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() { // server -> client
			defer p.wg.Done()
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					reply := buf[:n]
					// NOSCRIPT is not the script's answer: go-redis sends
					// EVAL next, whose reply is the one to lose.
					if dropNext.Load() && !bytes.HasPrefix(reply, []byte("-NOSCRIPT")) {
						dropNext.Store(false)
						if p.armed.CompareAndSwap(true, false) {
							close(p.dropped)
						}
						continue
					}
					if _, werr := c.Write(reply); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// isScriptCall reports whether a RESP command chunk is EVALSHA or EVAL.
func isScriptCall(b []byte) bool {
	b = bytes.ToLower(b)
	return bytes.Contains(b, []byte("\r\nevalsha\r\n")) || bytes.Contains(b, []byte("\r\neval\r\n"))
}

func (p *replyDropper) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
