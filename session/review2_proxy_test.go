package session_test

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// replyDropper is a TCP proxy in front of a redis-server that, once armed
// with a pattern, loses the server's reply to the next script call
// (EVALSHA or EVAL) whose bytes hold that pattern, as a network that
// drops a connection after the command went out does: the script runs on
// the server, the client reads EOF and — go-redis retries on EOF unless
// MaxRetries is -1 — sends the same command again on a new connection.
type replyDropper struct {
	ln      net.Listener
	target  string
	pattern atomic.Pointer[[]byte] // nil while disarmed
	dropped chan struct{}          // one value for each reply lost

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
	p := &replyDropper{ln: ln, target: target, dropped: make(chan struct{}, 16)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// retryingClient is a go-redis client with its default retries, through p.
func (p *replyDropper) retryingClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// arm makes the proxy lose the reply to the next script call holding pattern.
func (p *replyDropper) arm(pattern string) {
	b := []byte(strings.ToLower(pattern))
	p.pattern.Store(&b)
}

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
					if pat := p.pattern.Load(); pat != nil && isScriptCall(buf[:n]) &&
						bytes.Contains(bytes.ToLower(buf[:n]), *pat) && p.pattern.CompareAndSwap(pat, nil) {
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
					if dropNext.Load() {
						// NOSCRIPT is not the script's answer: go-redis
						// sends EVAL next, whose reply is the one to lose.
						if bytes.HasPrefix(reply, []byte("-NOSCRIPT")) {
							p.pattern.Store(&[]byte{}) // re-arm for the EVAL (matches any)
							dropNext.Store(false)
						} else {
							select {
							case p.dropped <- struct{}{}:
							default:
							}
							return // the reply is lost with the connection
						}
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

// redisAddr is the host:port of the shared test redis-server.
func redisAddr(t *testing.T) string {
	t.Helper()
	opt, err := redis.ParseURL(testserver.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return opt.Addr
}
