package mq

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/groundwork-go/groundwork/mq/driver"
)

var (
	driversMu sync.RWMutex
	drivers   = map[string]driver.Driver{}
)

// Register makes a provider available under scheme. It is called from a
// provider's init function; registering a scheme twice, or a nil driver,
// panics, as with database/sql.
func Register(scheme string, d driver.Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if d == nil {
		panic("mq: Register driver is nil")
	}
	if _, dup := drivers[scheme]; dup {
		panic("mq: Register called twice for scheme " + scheme)
	}
	drivers[scheme] = d
}

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	s := make([]string, 0, len(drivers))
	for k := range drivers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open connects to the broker named by rawURL, whose scheme selects the
// provider (import the provider package for its side effect to register
// it), and returns a Client with opts applied.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("%w: %q has no scheme (want e.g. mem://, kafka://, redis://)", ErrBadURL, rawURL)
	}
	driversMu.RLock()
	d, ok := drivers[u.Scheme]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: no provider for scheme %q (registered: %s; forgotten import?)",
			ErrBadURL, u.Scheme, strings.Join(Schemes(), ", "))
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
