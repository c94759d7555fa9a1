package rocketmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	rmq "github.com/apache/rocketmq-client-go/v2"
	rmqerrors "github.com/apache/rocketmq-client-go/v2/errors"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Scheme is the URL scheme the provider registers.
const Scheme = "rocketmq"

func init() { mq.Register(Scheme, rocketDriver{}) }

type rocketDriver struct{}

func (rocketDriver) Open(ctx context.Context, u *url.URL) (driver.Conn, error) {
	c, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	return New(ctx, c.nameServers, &c.opts)
}

// conn is a connection: one native producer, plus one push consumer per
// group member, made by Subscribe.
type conn struct {
	nameServers []string // IP:port, as the client takes them
	named       string   // the name servers as given, for errors
	opts        Options
	prod        rmq.Producer
	unrouteLogs func() // ends the client's logging to opts.Logger (Close)

	mu     sync.Mutex
	closed bool
}

var (
	_ driver.Conn        = (*conn)(nil)
	_ driver.Pinger      = (*conn)(nil)
	_ driver.Namer       = (*conn)(nil)
	_ driver.SizeLimiter = (*conn)(nil)
)

// New returns a connection to the cluster whose name servers are
// nameServers ("host:port"), for mq.NewClient. The client has no way to be
// handed a producer or consumer built elsewhere that fits: its push
// consumers are bound to one group when built, and Subscribe names the
// group, so New takes the native options instead (Options.ProducerOptions
// and ConsumerOptions) and builds the producer now and a push consumer per
// Subscribe with them. Host names are resolved here (the client takes IP
// addresses only), within ctx; nothing else is sent until the first call.
func New(ctx context.Context, nameServers []string, opts *Options) (driver.Conn, error) {
	if len(nameServers) == 0 {
		return nil, fmt.Errorf("%w: rocketmq.New: no name server", mq.ErrInvalid)
	}
	if opts != nil {
		if err := opts.validate(); err != nil {
			return nil, fmt.Errorf("%w: rocketmq.New: %v", mq.ErrInvalid, err)
		}
	}
	o := opts.withDefaults()
	addrs, err := resolve(ctx, nameServers)
	if err != nil {
		return nil, err
	}
	c := &conn{nameServers: addrs, named: strings.Join(nameServers, ";"), opts: o}
	p, err := rmq.NewProducer(producerOptions(addrs, o)...)
	if err != nil {
		return nil, fmt.Errorf("%w: producer: %v", mq.ErrInvalid, err)
	}
	c.unrouteLogs = routeLogs(o.Logger)
	if err := p.Start(); err != nil {
		c.unrouteLogs()
		return nil, fmt.Errorf("%w: producer: %v", mq.ErrInvalid, err)
	}
	c.prod = p
	return c, nil
}

// producerOptions are the native options of a producer of the
// connection (or of a TransactionProducer) made with o.
func producerOptions(addrs []string, o Options) []producer.Option {
	popts := []producer.Option{
		producer.WithNameServer(addrs),
		producer.WithGroupName(o.ProducerGroup),
		producer.WithInstanceName(uniqueInstance(o.Instance)),
		producer.WithSendMsgTimeout(o.SendTimeout),
		producer.WithDefaultTopicQueueNums(o.Queues),
	}
	if o.Namespace != "" {
		popts = append(popts, producer.WithNamespace(o.Namespace))
	}
	if credentialsSet(o.Credentials) {
		popts = append(popts, producer.WithCredentials(o.Credentials))
	}
	popts = append(popts, o.ProducerOptions...)
	// Last, so that they win: mq retries (a client-side retry would hide
	// failures from mq's breaker and duplicate what mq resends), and keys
	// stay on one queue.
	return append(popts, producer.WithRetry(0), producer.WithQueueSelector(new(keySelector)))
}

// resolve turns host names into IP addresses, the only form the client
// accepts: every address a name resolves to (a DNS name for a set of name
// servers is all of them, so the client fails over between them), each
// address once.
func resolve(ctx context.Context, hostports []string) ([]string, error) {
	out := make([]string, 0, len(hostports))
	seen := map[string]bool{}
	add := func(hp string) {
		if !seen[hp] {
			seen[hp] = true
			out = append(out, hp)
		}
	}
	for _, hp := range hostports {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			return nil, fmt.Errorf("%w: name server %q: want host:port", driver.ErrBadURL, hp)
		}
		if ip := net.ParseIP(host); ip != nil {
			add(net.JoinHostPort(host, port))
			continue
		}
		ips, err := lookupHost(ctx, host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("%w: name server %s: %v", driver.ErrUnreachable, hp, err)
		}
		for _, ip := range ips {
			add(net.JoinHostPort(ip, port))
		}
	}
	return out, nil
}

// lookupHost resolves a host name; tests replace it.
var lookupHost = net.DefaultResolver.LookupHost

var instanceSeq atomic.Uint64

// instanceName is a name no other native producer or consumer in any
// process shares: the client keeps one native client per (IP, instance
// name) in a process-wide map, and the broker tells group members apart
// by it, so two members sharing one would be one member.
func (c *conn) instanceName() string { return uniqueInstance(c.opts.Instance) }

// uniqueInstance is prefix made unique (see instanceName).
func uniqueInstance(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(instanceSeq.Add(1), 10) + "-" + hex.EncodeToString(b[:])
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// MaxMessageBytes leaves room for a message's properties (ID, time, the
// client's unique key) below the broker's limit.
func (c *conn) MaxMessageBytes() int { return c.opts.MaxMessageBytes - messageFraming }

// ProviderName is Scheme: the name errors and metrics give the provider.
func (c *conn) ProviderName() string { return Scheme }

// Publish sends msgs one by one, synchronously, each to the queue its key
// hashes to, and returns at the first failure (earlier messages are sent).
func (c *conn) Publish(ctx context.Context, msgs []driver.Message) error {
	if c.isClosed() {
		return mq.ErrClosed
	}
	native := make([]*primitive.Message, len(msgs))
	for i := range msgs {
		nm, err := toNative(&msgs[i])
		if err != nil {
			return err
		}
		if nm.Topic, err = c.topicName(nm.Topic); err != nil {
			return err
		}
		native[i] = nm
	}
	for _, nm := range native {
		res, err := c.prod.SendSync(ctx, nm)
		if err != nil {
			return mapErr(err)
		}
		if res.Status != primitive.SendOK {
			// Stored on the master, not flushed or replicated as the
			// broker is configured to: a retry may duplicate it.
			return fmt.Errorf("%w: the broker stored the message without the durability it is configured for (status %d)",
				driver.ErrUnreachable, res.Status)
		}
	}
	return nil
}

// Ping asks a name server for a route: any answer (a route, or "no such
// topic") proves one is up.
func (c *conn) Ping(ctx context.Context) error {
	if c.isClosed() {
		return mq.ErrClosed
	}
	_, err := queryRoute(ctx, c.nameServers, "TBW102", c.opts.Credentials)
	if err == nil || errors.Is(err, errTopicNotExist) {
		return nil
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return fmt.Errorf("%w: name servers %s: %v", driver.ErrUnreachable, c.named, err)
}

// IsRetryable reports the errors mapErr marks transient.
func (c *conn) IsRetryable(err error) bool { return errors.Is(err, driver.ErrUnreachable) }

// As hands out the native producer (rocketmq.Producer, the client's
// interface type).
func (c *conn) As(target any) bool {
	switch p := target.(type) {
	case *rmq.Producer:
		*p = c.prod
	default:
		return false
	}
	return true
}

// Close shuts the producer down. See the package doc on what the client
// leaves running for a few seconds after.
func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.prod.Shutdown()
	c.unrouteLogs()
	return err
}

// codeRe finds the broker's response code in the client's error text
// ("CODE: 13, DESC: ..."): the client returns it as plain text.
var codeRe = regexp.MustCompile(`CODE: (-?\d+)`)

// Response codes the broker sends that mapErr classifies.
const (
	codeSystemError   = 1
	codeSystemBusy    = 2
	codeFlushDisk     = 10
	codeFlushSlave    = 12
	codeSlaveNA       = 11
	codeIllegal       = 13
	codeServiceNA     = 14
	codeTopicNotExist = 17
)

// mapErr wraps the client's errors in mq's sentinels, the sentinel first,
// so that mq's wrapping names package mq once.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	msg := err.Error()
	if m := codeRe.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		switch code {
		case codeIllegal:
			low := strings.ToLower(msg)
			if strings.Contains(low, "size") || strings.Contains(low, "length") || strings.Contains(low, "large") || strings.Contains(low, "body") {
				return fmt.Errorf("%w: %v", driver.ErrTooLarge, err)
			}
			return err
		case codeSystemError, codeSystemBusy, codeFlushDisk, codeFlushSlave, codeSlaveNA, codeServiceNA, codeTopicNotExist:
			return fmt.Errorf("%w: %v", driver.ErrUnreachable, err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, rmqerrors.ErrRequestTimeout) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(msg, "route info not found") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "EOF") {
		return fmt.Errorf("%w: %v", driver.ErrUnreachable, err)
	}
	return err
}
