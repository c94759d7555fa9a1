package testserver

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// RedisProxy is a TCP proxy in front of a redis-server, for tests that
// break the path between a client and the server: it loses a chosen
// reply (the server acted, the client never hears), holds a command back
// (it reaches the server after its sender gave up), or cuts every
// connection (a partition). Until told otherwise it forwards bytes both
// ways unchanged.
//
// It reads RESP in chunks, not commands: what it matches is the latest
// chunk a client wrote, which is one command for a client that waits for
// each reply (go-redis outside pipelines).
type RedisProxy struct {
	ln     net.Listener
	target string
	drop   atomic.Pointer[Drop]
	hold   atomic.Pointer[HeldCommand]
	refuse atomic.Bool
	done   chan struct{} // closed when the proxy is closed

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// NewRedisProxy starts a proxy to target (host:port) on a free loopback
// port; it is closed, with every connection through it, when t ends.
func NewRedisProxy(t testing.TB, target string) *RedisProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: redis proxy: %v", err)
	}
	p := &RedisProxy{ln: ln, target: target, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the host:port clients connect to.
func (p *RedisProxy) Addr() string { return p.ln.Addr().String() }

// Drop says which reply a RedisProxy loses, and how; see DropReply.
type Drop struct {
	// Command picks the command whose reply is lost, from its RESP
	// bytes, lower-cased; nil picks any command, including one sent
	// before DropReply (a blocked read).
	Command func(cmd []byte) bool
	// SkipEmpty passes a nil reply (RESP2 *-1, RESP3 _) on: the reply to
	// lose is one that carries something.
	SkipEmpty bool
	// Keep leaves the connection open and swallows the reply, so the
	// client waits for its read timeout; by default the connection is cut
	// instead and the client reads EOF at once.
	Keep bool

	dropped chan struct{}
}

// DropReply arms p to lose the next reply, on any connection, to a
// command d picks. A -NOSCRIPT reply is never the one lost: go-redis
// sends EVAL next, and the reply to that is. The channel returned is
// closed once the reply is lost. A later DropReply replaces an armed one.
func (p *RedisProxy) DropReply(d Drop) <-chan struct{} {
	d.dropped = make(chan struct{})
	p.drop.Store(&d)
	return d.dropped
}

// ScriptCall is a Drop.Command (or Hold match) picking a script call
// (EVALSHA or EVAL) whose bytes hold pattern, ignoring case; "" picks any
// script call.
func ScriptCall(pattern string) func(cmd []byte) bool {
	pat := bytes.ToLower([]byte(pattern))
	return func(cmd []byte) bool {
		return (bytes.Contains(cmd, []byte("\r\nevalsha\r\n")) || bytes.Contains(cmd, []byte("\r\neval\r\n"))) &&
			bytes.Contains(cmd, pat)
	}
}

// HeldCommand is a command a RedisProxy holds back; see Hold.
type HeldCommand struct {
	match    func(cmd []byte) bool
	held     chan struct{}
	release  chan struct{}
	answered chan struct{}
	once     sync.Once
}

// Hold arms p to hold back the next command match picks (from its RESP
// bytes, lower-cased), with whatever follows it on its connection: the
// server gets them only after Release and after the client closed that
// connection — a command that reaches the server after its sender gave
// up waiting (a slow network path).
func (p *RedisProxy) Hold(match func(cmd []byte) bool) *HeldCommand {
	h := &HeldCommand{match: match, held: make(chan struct{}), release: make(chan struct{}), answered: make(chan struct{})}
	p.hold.Store(h)
	return h
}

// Holding is closed once a command is held.
func (h *HeldCommand) Holding() <-chan struct{} { return h.held }

// Release lets the held command go to the server once its client has
// closed the connection.
func (h *HeldCommand) Release() { h.once.Do(func() { close(h.release) }) }

// Answered is closed once the server answered the held command; the
// answer is dropped and the connection closed.
func (h *HeldCommand) Answered() <-chan struct{} { return h.answered }

// Cut closes every connection made so far and refuses new ones: the
// clients are partitioned from the server.
func (p *RedisProxy) Cut() {
	p.refuse.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func (p *RedisProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			c.Close()
			continue
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
		pc := &proxyConn{p: p, c: c, s: s}
		p.wg.Add(2)
		go pc.commands()
		go pc.replies()
	}
}

func (p *RedisProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxyConn is one client connection (c) and its server connection (s).
type proxyConn struct {
	p    *RedisProxy
	c, s net.Conn
	last atomic.Pointer[[]byte]      // the latest command chunk, lower-cased
	held atomic.Pointer[HeldCommand] // set once this connection's commands are held
}

// commands moves the client's commands to the server.
func (pc *proxyConn) commands() {
	defer pc.p.wg.Done()
	var held []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := pc.c.Read(buf)
		if n > 0 {
			cmd := bytes.ToLower(buf[:n])
			// Recorded before forwarding: the server cannot answer
			// before it has the command.
			pc.last.Store(&cmd)
			if h := pc.p.hold.Load(); h != nil && pc.held.Load() == nil && h.match(cmd) && pc.p.hold.CompareAndSwap(h, nil) {
				pc.held.Store(h)
				close(h.held)
			}
			if pc.held.Load() != nil {
				held = append(held, buf[:n]...)
			} else if _, werr := pc.s.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if h := pc.held.Load(); h != nil {
				select {
				case <-h.release:
					// The server reads it after the sender is gone;
					// replies closes s once it answers.
					_, _ = pc.s.Write(held)
				case <-pc.p.done:
				}
				return
			}
			pc.s.Close()
			return
		}
	}
}

// replies moves the server's replies to the client, losing the one a
// DropReply picks.
func (pc *proxyConn) replies() {
	defer pc.p.wg.Done()
	defer pc.c.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := pc.s.Read(buf)
		if n > 0 {
			reply := buf[:n]
			if h := pc.held.Load(); h != nil {
				close(h.answered)
				pc.s.Close()
				return
			}
			if d := pc.p.drop.Load(); d != nil && pc.loses(d, reply) && pc.p.drop.CompareAndSwap(d, nil) {
				close(d.dropped)
				if !d.Keep {
					pc.s.Close()
					return // the reply is lost with the connection
				}
				continue
			}
			if _, werr := pc.c.Write(reply); werr != nil {
				err = werr
			}
		}
		if err != nil {
			pc.s.Close()
			return
		}
	}
}

// loses reports whether d picks reply, the answer to this connection's
// latest command.
func (pc *proxyConn) loses(d *Drop, reply []byte) bool {
	if bytes.HasPrefix(reply, []byte("-NOSCRIPT")) {
		return false
	}
	if d.SkipEmpty && (bytes.HasPrefix(reply, []byte("_\r\n")) || bytes.HasPrefix(reply, []byte("*-1\r\n"))) {
		return false
	}
	if d.Command == nil {
		return true
	}
	cmd := pc.last.Load()
	return cmd != nil && d.Command(*cmd)
}
