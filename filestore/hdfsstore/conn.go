package hdfsstore

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// Dialer returns a dial function for hdfs.ClientOptions' NamenodeDialFunc
// and DatanodeDialFunc whose connections fail any read or write that
// waits longer than timeout: without it, a namenode or datanode that
// stops answering (but keeps the connection open) blocks the client for
// ever, the colinmarc client setting no deadline of its own on namenode
// calls. A client built from a URL uses it; use it when you build your
// own (for Kerberos, say).
func Dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, timeout: timeout}, nil
	}
}

// idleConn moves the deadline forward before each read and write: an
// I/O that makes no progress for timeout fails, one that does is never
// cut. A deadline the client sets (a FileReader's or FileWriter's
// SetDeadline, which hdfsstore sets from the caller's ctx) applies when
// it comes first.
type idleConn struct {
	net.Conn
	timeout time.Duration
	read    atomic.Int64 // the client's deadlines, Unix ns; 0: none
	write   atomic.Int64
}

func (c *idleConn) deadline(set *atomic.Int64) time.Time {
	t := time.Now().Add(c.timeout)
	if ns := set.Load(); ns != 0 && ns < t.UnixNano() {
		return time.Unix(0, ns)
	}
	return t
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(c.deadline(&c.read))
	n, err := c.Conn.Read(p)
	if err != nil {
		// A namenode reply still in flight after a timeout would be
		// read by the next call as its own: close, so that the client
		// dials again.
		_ = c.Conn.Close()
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(c.deadline(&c.write))
	return c.Conn.Write(p)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (c *idleConn) SetDeadline(t time.Time) error {
	c.read.Store(nanos(t))
	c.write.Store(nanos(t))
	return c.Conn.SetDeadline(t)
}

func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.read.Store(nanos(t))
	return c.Conn.SetReadDeadline(t)
}

func (c *idleConn) SetWriteDeadline(t time.Time) error {
	c.write.Store(nanos(t))
	return c.Conn.SetWriteDeadline(t)
}
