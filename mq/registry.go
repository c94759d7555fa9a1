package mq

import (
	"context"
	"fmt"

	"github.com/groundwork-go/groundwork/internal/registry"
	"github.com/groundwork-go/groundwork/mq/driver"
)

var drivers = registry.New[driver.Driver]("mq", "mem://, kafka://, redis://")

// Register makes a provider available under scheme. It is called from a
// provider's init function; registering a scheme twice, or a nil driver,
// panics, as with database/sql.
func Register(scheme string, d driver.Driver) { drivers.Register(scheme, d) }

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string { return drivers.Schemes() }

// Open connects to the broker named by rawURL, whose scheme selects the
// provider (import the provider package for its side effect to register
// it), and returns a Client with opts applied.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	u, d, err := drivers.Lookup(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	// Validate options before dialing so that a typo costs no connection.
	o, err := newClientOptions(opts)
	if err != nil {
		return nil, err
	}
	conn, err := d.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("mq: open %s: %w", u.Redacted(), err)
	}
	c, err := newClient(conn, u.Scheme, o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient wraps a connection built by a provider's own constructor (for
// example kafkamq.New) in a Client.
func NewClient(conn driver.Conn, opts ...Option) (*Client, error) {
	if conn == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrInvalid)
	}
	o, err := newClientOptions(opts)
	if err != nil {
		return nil, err
	}
	return newClient(conn, fmt.Sprintf("%T", conn), o)
}
