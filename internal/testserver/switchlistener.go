package testserver

import (
	"net"
	"sync"
)

// switchListener is a TCP listener that can be taken down and brought back
// on the same address: down closes the socket (new dials are refused) and
// every accepted connection, as a crashed or partitioned server would.
type switchListener struct {
	addr net.Addr

	mu     sync.Mutex
	l      net.Listener // nil while down
	up     chan struct{}
	conns  map[net.Conn]struct{}
	closed bool
}

func newSwitchListener(network, address string) (*switchListener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	up := make(chan struct{})
	close(up)
	return &switchListener{addr: l.Addr(), l: l, up: up, conns: map[net.Conn]struct{}{}}, nil
}

func (s *switchListener) Accept() (net.Conn, error) {
	for {
		s.mu.Lock()
		l, up, closed := s.l, s.up, s.closed
		s.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if l == nil {
			<-up
			continue
		}
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			wentDown := s.l != l && !s.closed
			s.mu.Unlock()
			if wentDown {
				continue
			}
			return nil, err
		}
		s.mu.Lock()
		if s.l != l {
			s.mu.Unlock()
			c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, s: s}
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		return tc, nil
	}
}

func (s *switchListener) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	select {
	case <-s.up:
	default:
		close(s.up)
	}
	if s.l != nil {
		return s.l.Close()
	}
	return nil
}

func (s *switchListener) Addr() net.Addr { return s.addr }

// down refuses new connections and cuts the open ones.
func (s *switchListener) down() {
	s.mu.Lock()
	if s.l == nil || s.closed {
		s.mu.Unlock()
		return
	}
	s.l.Close()
	s.l = nil
	s.up = make(chan struct{})
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close() // takes s.mu to untrack itself
	}
}

// restore listens on the same address again.
func (s *switchListener) restore() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l != nil || s.closed {
		return nil
	}
	l, err := net.Listen(s.addr.Network(), s.addr.String())
	if err != nil {
		return err
	}
	s.l = l
	close(s.up)
	return nil
}

type trackedConn struct {
	net.Conn
	s    *switchListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
