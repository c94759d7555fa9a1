// Package memmq is the in-process mq provider, registered for the scheme
// mem://. It is the embedded default of the tour and the examples, and the
// reference the conformance suite is written against. Import it for its
// side effect:
//
//	import _ "github.com/groundwork-go/groundwork/mq/memmq"
//
// # URLs
//
//	mem://[name][?partitions=N&max_message_bytes=N]
//
// Clients opening the same name share one broker (the empty name is
// "default"), so two Clients act as two members of a group. Parameters:
//
//   - partitions: partitions of each topic, default 8. Keys map to
//     partitions by FNV-1a hash.
//   - max_message_bytes: the largest message accepted (key, ID, payload and
//     headers counted), default 4 MiB.
//
// The parameters take effect when the broker is first created; opening an
// existing broker with different values is an error. Any other parameter
// is an error.
//
// # Guarantees
//
// Topics are partitioned logs held in memory. Every consumer group gets
// every message published after its first member joined; within a group
// each partition is owned by one member at a time, so messages of one key
// reach one member, in order. When members join or leave, partitions move
// only after the old owner settled what it was handed; a member that
// leaves without acknowledging hands its deliveries back, and they are
// redelivered, in order, to the new owner. Messages are kept until every
// group has acknowledged them. Nothing survives the process.
//
// Broker.SetReachable(false) makes the broker fail publishing, joining and
// receiving with mq.ErrUnreachable until it is reachable again; tests use it to stage
// outages. Broker.SetTopicMaxMessageBytes gives a topic a lower size limit
// of its own, as Kafka's topic-level max.message.bytes does; tests use it
// to have the broker refuse a message that the client's check lets through.
//
// # Errors
//
// Publish over max_message_bytes, or over a topic's own limit, fails with
// mq.ErrTooLarge before anything is stored; calls on an unreachable
// broker (Ping included, so mq.Open fails) fail with mq.ErrUnreachable
// (retryable); calls after Close fail with mq.ErrClosed.
//
// # As
//
// Client.As accepts a **memmq.Broker. Subscription.As accepts nothing: a
// subscription has no consumer of its own, it reads from the Broker, which
// Client.As hands out.
package memmq

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Scheme is the URL scheme memmq registers.
const Scheme = "mem"

func init() { mq.Register(Scheme, memDriver{}) }

// Options configures a Broker.
type Options struct {
	// Partitions per topic; default 8.
	Partitions int
	// MaxMessageBytes is the largest accepted message; default 4 MiB.
	MaxMessageBytes int
}

var (
	brokersMu sync.Mutex
	brokers   = map[string]*Broker{}
)

type memDriver struct{}

func (memDriver) Open(_ context.Context, u *url.URL) (driver.Conn, error) {
	o := Options{}
	for k, vs := range u.Query() {
		n, err := strconv.Atoi(vs[len(vs)-1])
		switch k {
		case "partitions":
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%w: partitions=%q: want a positive integer", driver.ErrBadURL, vs[0])
			}
			o.Partitions = n
		case "max_message_bytes":
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%w: max_message_bytes=%q: want a positive integer", driver.ErrBadURL, vs[0])
			}
			o.MaxMessageBytes = n
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q (known: partitions, max_message_bytes)", driver.ErrBadURL, k)
		}
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%w: mem:// URLs take a name, not a path (%q)", driver.ErrBadURL, u.Path)
	}
	name := u.Host
	if name == "" {
		name = "default"
	}
	b, err := Named(name, &o)
	if err != nil {
		return nil, err
	}
	return New(b), nil
}

// Named returns the process-wide broker called name, creating it with o
// (nil for the defaults). It fails if the broker exists with other
// options set explicitly.
func Named(name string, o *Options) (*Broker, error) {
	brokersMu.Lock()
	defer brokersMu.Unlock()
	want := o.withDefaults()
	if b, ok := brokers[name]; ok {
		if o != nil && ((o.Partitions != 0 && o.Partitions != b.opts.Partitions) ||
			(o.MaxMessageBytes != 0 && o.MaxMessageBytes != b.opts.MaxMessageBytes)) {
			return nil, fmt.Errorf("%w: broker %q exists with partitions=%d max_message_bytes=%d",
				driver.ErrBadURL, name, b.opts.Partitions, b.opts.MaxMessageBytes)
		}
		return b, nil
	}
	b := NewBroker(&want)
	brokers[name] = b
	return b, nil
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Partitions < 1 {
		r.Partitions = 8
	}
	if r.MaxMessageBytes < 1 {
		r.MaxMessageBytes = 4 << 20
	}
	return r
}

// errClosed reports a call on a closed connection or receiver.
var errClosed = mq.ErrClosed

// conn is one client connection to a Broker.
type conn struct {
	b      *Broker
	mu     sync.Mutex
	closed bool
}

// New returns a connection to b, for mq.NewClient.
func New(b *Broker) driver.Conn { return &conn{b: b} }

var (
	_ driver.Conn        = (*conn)(nil)
	_ driver.Pinger      = (*conn)(nil)
	_ driver.Namer       = (*conn)(nil)
	_ driver.SizeLimiter = (*conn)(nil)
)

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *conn) Publish(_ context.Context, msgs []driver.Message) error {
	if c.isClosed() {
		return errClosed
	}
	return c.b.publish(msgs)
}

func (c *conn) Subscribe(_ context.Context, topic, group string) (driver.Receiver, error) {
	if c.isClosed() {
		return nil, errClosed
	}
	return c.b.join(topic, group)
}

func (c *conn) Ping(context.Context) error {
	if c.isClosed() {
		return errClosed
	}
	return c.b.check()
}

func (c *conn) MaxMessageBytes() int { return c.b.opts.MaxMessageBytes }

func (c *conn) IsRetryable(err error) bool { return errors.Is(err, driver.ErrUnreachable) }

func (c *conn) As(target any) bool {
	if p, ok := target.(**Broker); ok {
		*p = c.b
		return true
	}
	return false
}

func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

var _ driver.GroupDeleter = (*conn)(nil)

// DeleteGroup forgets group on topic; it must have no members left.
func (c *conn) DeleteGroup(_ context.Context, topic, group string) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.topics[topic]
	if !ok {
		return nil
	}
	if g, ok := t.groups[group]; ok {
		if len(g.members) > 0 {
			return fmt.Errorf("%d members left", len(g.members))
		}
		delete(t.groups, group)
	}
	return nil
}

// ProviderName is Scheme: the name errors and metrics give the provider.
func (c *conn) ProviderName() string { return Scheme }
