package cache_test

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy forwards TCP connections to a Redis server and can make the
// subscribers' connections half-open: while stall is set it keeps them
// open but passes no byte either way, as a dead path with no RST would,
// and a connection that was stalled stays dead. A connection counts as a
// subscriber once its client sends SUBSCRIBE.
type proxy struct {
	addr, target string
	ln           net.Listener
	stall        atomic.Bool // subscribers' connections pass nothing

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target, ln: ln}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		st := &connState{}
		p.wg.Add(2)
		go p.pipe(server, client, st, true)
		go p.pipe(client, server, st, false)
	}
}

type connState struct{ subscriber, dead atomic.Bool }

// pipe copies from src to dst, dropping what a stalled subscriber's
// connection carries.
func (p *proxy) pipe(dst, src net.Conn, st *connState, fromClient bool) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient && bytes.Contains(bytes.ToLower(buf[:n]), []byte("subscribe")) {
				st.subscriber.Store(true)
			}
			if st.subscriber.Load() && p.stall.Load() {
				st.dead.Store(true)
			}
			if !st.dead.Load() {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
