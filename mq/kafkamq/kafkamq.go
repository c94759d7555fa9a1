package kafkamq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Scheme is the URL scheme kafkamq registers.
const Scheme = "kafka"

func init() { mq.Register(Scheme, kafkaDriver{}) }

const (
	// defaultMaxMessageBytes is franz-go's default cap on a record batch,
	// below Kafka's default message.max.bytes (1,048,588).
	defaultMaxMessageBytes = 1_000_012
	// batchFraming is what a one-record batch adds to a message's Size:
	// the batch header (61 bytes), the record's varints and attributes,
	// and the mq-id and mq-time headers come to under 140 bytes; the rest
	// leaves room for the varints of a few dozen headers of the caller's.
	batchFraming = 512
)

// Record headers carrying what Kafka records have no field for.
const (
	headerID   = "mq-id"   // the message ID
	headerTime = "mq-time" // Message.Time, unix nanoseconds
)

// Options configures a connection made by New. The zero value (or nil) is
// usable.
type Options struct {
	// MaxMessageBytes is the largest record batch the broker accepts
	// (its message.max.bytes, or the topic's max.message.bytes). A
	// message must fit in one batch with its framing, so Publish accepts
	// messages (key, value and headers) of up to MaxMessageBytes-512
	// bytes. Default 1,000,012, franz-go's default batch cap, which
	// Kafka's defaults accept. A client built by the caller should cap its
	// batches to it (kgo.ProducerBatchMaxBytes); the URL form does.
	MaxMessageBytes int
	// Partitions is the partition count of topics Subscribe creates;
	// default -1 (the broker's default).
	Partitions int32
	// NoCreateTopics stops Subscribe from creating missing topics.
	NoCreateTopics bool
	// CommitInterval is how often handled offsets are committed; default
	// 1s.
	CommitInterval time.Duration
	// GroupOpts are added to the options of every group member's client
	// (for example kgo.SessionTimeout).
	GroupOpts []kgo.Opt
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxMessageBytes <= 0 {
		r.MaxMessageBytes = defaultMaxMessageBytes
	}
	if r.Partitions == 0 {
		r.Partitions = -1
	}
	if r.CommitInterval <= 0 {
		r.CommitInterval = time.Second
	}

	return r
}

type kafkaDriver struct{}

func (kafkaDriver) Open(_ context.Context, u *url.URL) (driver.Conn, error) {
	opts, o, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", driver.ErrBadURL, err)
	}
	c := newConn(cl, &o)
	c.ownsClient = true
	return c, nil
}

// parseURL turns a kafka:// URL into kgo options and Options.
func parseURL(u *url.URL) ([]kgo.Opt, Options, error) {
	var o Options
	if u.Host == "" {
		return nil, o, fmt.Errorf("%w: kafka:// URL names no broker", driver.ErrBadURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, o, fmt.Errorf("%w: kafka:// URLs take no path (%q)", driver.ErrBadURL, u.Path)
	}
	seeds := strings.Split(u.Host, ",")
	for _, s := range seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, o, fmt.Errorf("%w: broker %q: want host:port", driver.ErrBadURL, s)
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID("groundwork"),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), kgo.RecordDeliveryTimeout(30 * time.Second),
		// Bounded publishes: mq's retry policy and outage buffer take over
		// from a timed-out one; see Publish.
		kgo.AllowIdempotentProduceCancellation()}
	var groupOpts []kgo.Opt
	dur := func(k, v string) (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%w: %s=%q: want a non-negative Go duration such as 500ms", driver.ErrBadURL, k, v)
		}
		return d, nil
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "client_id":
			opts = append(opts, kgo.ClientID(v))
		case "acks":
			switch v {
			case "all":
				opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
			case "leader":
				opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
			case "none":
				opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
			default:
				return nil, o, fmt.Errorf("%w: acks=%q: want all, leader or none", driver.ErrBadURL, v)
			}
		case "linger":
			d, err := dur(k, v)
			if err != nil {
				return nil, o, err
			}
			opts = append(opts, kgo.ProducerLinger(d))
		case "compression":
			codec, ok := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
				"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}[v]
			if !ok {
				return nil, o, fmt.Errorf("%w: compression=%q: want none, gzip, snappy, lz4 or zstd", driver.ErrBadURL, v)
			}
			opts = append(opts, kgo.ProducerBatchCompression(codec))
		case "max_message_bytes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 2*batchFraming || n > 1<<30 {
				return nil, o, fmt.Errorf("%w: max_message_bytes=%q: want an integer from %d to 1 GiB", driver.ErrBadURL, v, 2*batchFraming)
			}
			o.MaxMessageBytes = n
			// Batches are kept to what the broker takes: a batch over its
			// limit is refused whole (MESSAGE_TOO_LARGE), records that
			// would each have fitted included. Without the parameter
			// kgo's own cap, which is the default, stays.
			opts = append(opts, kgo.ProducerBatchMaxBytes(int32(n)))
		case "delivery_timeout":
			d, err := dur(k, v)
			if err != nil {
				return nil, o, err
			}
			opts = append(opts, kgo.RecordDeliveryTimeout(d))
		case "partitions":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || (n < 1 && n != -1) {
				return nil, o, fmt.Errorf("%w: partitions=%q: want a positive integer or -1", driver.ErrBadURL, v)
			}
			o.Partitions = int32(n)
		case "create_topics":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, o, fmt.Errorf("%w: create_topics=%q: want true or false", driver.ErrBadURL, v)
			}
			o.NoCreateTopics = !b
		case "session_timeout", "heartbeat_interval", "rebalance_timeout", "commit_interval":
			d, err := dur(k, v)
			if err != nil {
				return nil, o, err
			}
			switch k {
			case "session_timeout":
				groupOpts = append(groupOpts, kgo.SessionTimeout(d))
			case "heartbeat_interval":
				groupOpts = append(groupOpts, kgo.HeartbeatInterval(d))
			case "rebalance_timeout":
				groupOpts = append(groupOpts, kgo.RebalanceTimeout(d))
			default:
				o.CommitInterval = d
			}
		default:
			return nil, o, fmt.Errorf("%w: unknown parameter %q (known: client_id, acks, linger, compression, max_message_bytes, "+
				"delivery_timeout, partitions, create_topics, session_timeout, heartbeat_interval, rebalance_timeout, commit_interval)",
				driver.ErrBadURL, k)
		}
	}
	o = o.withDefaults()
	if !o.NoCreateTopics {
		// Publishing to a missing topic asks the broker to create it
		// (with its default partitions), as Subscribe does.
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	o.GroupOpts = groupOpts
	return opts, o, nil
}

// conn is a connection: one kgo client that produces, plus one client per
// group member, made by Subscribe.
type conn struct {
	cl         *kgo.Client
	adm        *kadm.Client
	opts       Options
	ownsClient bool

	mu     sync.Mutex
	closed bool
}

var (
	_ driver.Conn        = (*conn)(nil)
	_ driver.Pinger      = (*conn)(nil)
	_ driver.Namer       = (*conn)(nil)
	_ driver.SizeLimiter = (*conn)(nil)
)

// New returns a connection that produces through cl, for mq.NewClient.
// Group members get clients of their own built from cl.Opts() plus the
// group options. The caller keeps ownership of cl: closing the mq.Client
// does not close it.
func New(cl *kgo.Client, opts *Options) (driver.Conn, error) {
	if cl == nil {
		return nil, fmt.Errorf("%w: kafkamq.New: nil client", mq.ErrInvalid)
	}
	o := opts.withDefaults()
	if o.MaxMessageBytes < 2*batchFraming {
		return nil, fmt.Errorf("%w: kafkamq.New: MaxMessageBytes %d: want at least %d", mq.ErrInvalid, o.MaxMessageBytes, 2*batchFraming)
	}
	return newConn(cl, &o), nil
}

func newConn(cl *kgo.Client, o *Options) *conn {
	return &conn{cl: cl, adm: kadm.NewClient(cl), opts: *o}
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// MaxMessageBytes leaves room for a record's framing in a batch of
// Options.MaxMessageBytes, so that any message mq lets through fits one.
func (c *conn) MaxMessageBytes() int { return c.opts.MaxMessageBytes - batchFraming }

// Publish produces msgs and waits for the broker's acknowledgement. A
// publish the broker does not confirm within the delivery timeout fails
// (retryably): the URL form turns on kgo's AllowIdempotentProduceCancellation
// for that, since kgo otherwise waits forever on records it sent without an
// answer. Such a record may still have been written, so a retry can
// duplicate it: at-least-once.
func (c *conn) Publish(ctx context.Context, msgs []driver.Message) error {
	if c.isClosed() {
		return mq.ErrClosed
	}
	return mapErr(c.cl.ProduceSync(ctx, toRecords(msgs)...).FirstErr())
}

// toRecords converts msgs, carving the records, their headers and the
// bytes of keys and header values out of three allocations for the whole
// batch: kgo holds them only until ProduceSync returns.
//
// The records' timestamps are now, as kgo would set them: kgo measures the
// delivery timeout from them, and new groups are positioned by them, so a
// message republished from the outage buffer must carry the time it is
// produced. Message.Time travels as that timestamp (Kafka's millisecond
// precision) when it falls in the same millisecond, as it does for a fresh
// publish; otherwise (a buffered or back-dated message) in the mq-time
// header, in nanoseconds.
func toRecords(msgs []driver.Message) []*kgo.Record {
	nh, nb := 0, 0
	for i := range msgs {
		m := &msgs[i]
		nh += len(m.Headers) + 2
		nb += len(m.Key) + len(m.ID) + 20 // 20: the longest int64 in decimal
		for _, v := range m.Headers {
			nb += len(v)
		}
	}
	now := time.Now()
	recs := make([]kgo.Record, len(msgs))
	ptrs := make([]*kgo.Record, len(msgs))
	hdrs := make([]kgo.RecordHeader, 0, nh)
	buf := make([]byte, 0, nb)
	// carve appends s to buf and returns it as a slice of its own.
	carve := func(s string) []byte {
		start := len(buf)
		buf = append(buf, s...)
		return buf[start:len(buf):len(buf)]
	}
	for i := range msgs {
		m, r := &msgs[i], &recs[i]
		r.Topic, r.Value, r.Timestamp = m.Topic, m.Payload, now
		if m.Key != "" {
			r.Key = carve(m.Key)
		}
		start := len(hdrs)
		hdrs = append(hdrs, kgo.RecordHeader{Key: headerID, Value: carve(m.ID)})
		if m.Time.UnixMilli() != now.UnixMilli() {
			ts := len(buf)
			buf = strconv.AppendInt(buf, m.Time.UnixNano(), 10)
			hdrs = append(hdrs, kgo.RecordHeader{Key: headerTime, Value: buf[ts:len(buf):len(buf)]})
		}
		for k, v := range m.Headers {
			hdrs = append(hdrs, kgo.RecordHeader{Key: k, Value: carve(v)})
		}
		r.Headers = hdrs[start:len(hdrs):len(hdrs)]
		ptrs[i] = r
	}
	return ptrs
}

// fromRecord sets m to the message r carries, its strings cut from a: a
// batch's keys, IDs and header values share a few buffers instead of an
// allocation each. They are copies, so that a handler keeping one (a key
// in a map, an ID in a dedup store) does not keep r's fetch buffer. A
// record without an ID header (not published by mq) gets
// "<topic>/<partition>/<offset>"; idPrefix, when not empty, is its
// "<topic>/<partition>/", made once per run of a partition's records.
func fromRecord(r *kgo.Record, a *stringArena, m *driver.Message, idPrefix string) {
	*m = driver.Message{Topic: r.Topic, Key: a.cut(r.Key), Payload: r.Value, Time: r.Timestamp}
	for _, h := range r.Headers {
		switch h.Key {
		case headerID:
			m.ID = a.cut(h.Value)
			continue
		case headerTime:
			if ns, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil {
				m.Time = time.Unix(0, ns)
				continue
			}
		}
		if m.Headers == nil {
			m.Headers = make(map[string]string, len(r.Headers))
		}
		m.Headers[h.Key] = a.cut(h.Value)
	}
	if m.ID == "" {
		if idPrefix == "" {
			idPrefix = recordIDPrefix(r)
		}
		var b [128]byte
		m.ID = a.cut(strconv.AppendInt(append(b[:0], idPrefix...), r.Offset, 10))
	}
}

// recordIDPrefix is "<topic>/<partition>/", the start of the ID of r if
// it has no ID header.
func recordIDPrefix(r *kgo.Record) string {
	return r.Topic + "/" + strconv.FormatInt(int64(r.Partition), 10) + "/"
}

// stringArena turns many short byte slices into strings with few
// allocations: they are copied into a chunk and cut out of it. Bytes
// written to a strings.Builder never change, so every string cut stays
// valid after the arena moves on to a new chunk.
type stringArena struct{ sb strings.Builder }

// arenaChunk keeps chunks in the small-object size classes, which the
// runtime recycles, rather than fresh pages.
const arenaChunk = 16 << 10

func (a *stringArena) cut(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if a.sb.Cap()-a.sb.Len() < len(b) {
		a.sb = strings.Builder{}
		a.sb.Grow(max(arenaChunk, len(b)))
	}
	start := a.sb.Len()
	a.sb.Write(b)
	return a.sb.String()[start:]
}

// mapErr wraps kgo errors in mq's sentinels, the sentinel first, so that
// mq's wrapping (which names the call, the topic and the provider) names
// package mq once.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w: %v", driver.ErrTooLarge, err)
	case isRetryable(err):
		return fmt.Errorf("%w: %v", driver.ErrUnreachable, err)
	}
	return err
}

// isRetryable reports broker and network failures that a later attempt
// may not meet. A connection the broker closes at once (kgo's
// ErrFirstReadEOF) counts: it is what a broker going down looks like, even
// though kgo itself, suspecting TLS or SASL misconfiguration, does not
// retry it; the outage buffer then holds messages, and mq logs the error.
func isRetryable(err error) bool {
	var ne net.Error
	var firstRead *kgo.ErrFirstReadEOF
	return kerr.IsRetriable(err) || kgo.IsRetryableBrokerErr(err) ||
		errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, kgo.ErrRecordRetries) || errors.Is(err, kgo.ErrMaxBuffered) ||
		errors.As(err, &ne) || errors.As(err, &firstRead) || errors.Is(err, net.ErrClosed)
}

func (c *conn) IsRetryable(err error) bool { return errors.Is(err, driver.ErrUnreachable) }

func (c *conn) Ping(ctx context.Context) error {
	if c.isClosed() {
		return mq.ErrClosed
	}
	return mapErr(c.cl.Ping(ctx))
}

func (c *conn) As(target any) bool {
	switch p := target.(type) {
	case **kgo.Client:
		*p = c.cl
	case **kadm.Client:
		*p = c.adm
	default:
		return false
	}
	return true
}

func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.ownsClient {
		c.cl.Close()
	}
	return nil
}

var _ driver.GroupDeleter = (*conn)(nil)

// DeleteGroup deletes group and its committed offsets. A group a member
// is still leaving answers NON_EMPTY_GROUP (or a coordinator error) for a
// moment; those are retryable, and mq's caller retries through its policy.
func (c *conn) DeleteGroup(ctx context.Context, _ string, group string) error {
	for {
		_, err := c.adm.DeleteGroup(ctx, group)
		if err == nil || errors.Is(err, kerr.GroupIDNotFound) {
			return nil
		}
		if !errors.Is(err, kerr.NonEmptyGroup) && !kerr.IsRetriable(err) {
			return mapErr(err)
		}
		select {
		case <-ctx.Done():
			return mapErr(err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ProviderName is Scheme: the name errors and metrics give the provider.
func (c *conn) ProviderName() string { return Scheme }
