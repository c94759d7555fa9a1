package mq

import (
	"context"
	"errors"
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
//
// Open checks that the broker answers before it returns, within ctx: a
// broker that cannot be reached, or does not answer before ctx's deadline,
// is an error wrapping ErrUnreachable that names the URL (its password
// and query parameters named like a secret, such as secret_key, redacted).
// WithLazyConnect skips the check, for services that must start
// while the broker is down. A provider that cannot be pinged is opened
// without the check.
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
	op := "open " + registry.Redacted(u) // the password and secret query parameters hidden
	conn, err := d.Open(ctx, u)
	if err != nil {
		return nil, wrapOp(op, err)
	}
	if !o.lazy {
		if err := checkReachable(ctx, conn); err != nil {
			return nil, wrapOp(op, err)
		}
	}
	c, err := newClient(conn, providerName(conn, u.Scheme), o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// checkReachable pings the broker once, for Open, and closes conn if that
// fails. It returns when ctx ends even if the provider's own timeouts are
// longer (a server that accepts connections and answers nothing holds a
// go-redis read for read_timeout): it closes conn then, which ends the
// ping. Running out of ctx's deadline is the broker not answering in
// time: ErrUnreachable, which also matches context.DeadlineExceeded. A
// cancelled ctx is returned as it is.
func checkReachable(ctx context.Context, conn driver.Conn) error {
	p, ok := conn.(driver.Pinger)
	if !ok {
		return nil // cannot tell: the first call finds out
	}
	done := make(chan error, 1)
	go func() { done <- p.Ping(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		conn.Close()
		if ctx.Err() == nil || errors.Is(err, ErrUnreachable) {
			return err
		}
	case <-ctx.Done():
		conn.Close()
		<-done // what the ping says after Close is Close's doing
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer before the deadline: %w", ErrUnreachable, ctx.Err())
	}
	return ctx.Err()
}

// NewClient wraps a connection built by a provider's own constructor (for
// example kafkamq.New) in a Client. Unlike Open it does not check that
// the broker answers (it has no context to bound the check): call
// Client.Ping for that.
func NewClient(conn driver.Conn, opts ...Option) (*Client, error) {
	if conn == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrInvalid)
	}
	o, err := newClientOptions(opts)
	if err != nil {
		return nil, err
	}
	return newClient(conn, providerName(conn, fmt.Sprintf("%T", conn)), o)
}

// providerName is the name conn gives its provider, else fallback.
func providerName(conn driver.Conn, fallback string) string {
	if n, ok := conn.(driver.Namer); ok && n.ProviderName() != "" {
		return n.ProviderName()
	}
	return fallback
}
