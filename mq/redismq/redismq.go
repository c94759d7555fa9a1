package redismq

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Schemes redismq registers: plain and TLS.
const (
	Scheme    = "redis"
	SchemeTLS = "rediss"
)

func init() {
	mq.Register(Scheme, redisDriver{})
	mq.Register(SchemeTLS, redisDriver{})
}

// Entry fields. Headers are stored as fields named headerPrefix+name.
const (
	fieldID      = "id"
	fieldKey     = "key"
	fieldTime    = "time" // unix nanoseconds; only when the ID does not carry the time (timeInID)
	fieldPayload = "payload"
	headerPrefix = "h:"
)

type redisDriver struct{}

func (redisDriver) Open(_ context.Context, u *url.URL) (driver.Conn, error) {
	rdb, o, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	c, err := newConn(rdb, &o)
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("%w: %v", driver.ErrBadURL, err)
	}
	c.ownsClient = true
	return c, nil
}

// New wraps a go-redis client the caller built (standalone, Cluster,
// Sentinel or Ring with one shard) as an mq connection. Closing the
// connection leaves rdb open.
func New(rdb redis.UniversalClient, opts *Options) (driver.Conn, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: redismq.New: nil client", mq.ErrInvalid)
	}
	c, err := newConn(rdb, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: redismq.New: %v", mq.ErrInvalid, err)
	}
	return c, nil
}

// conn publishes with pipelined XADDs and hands out receivers.
type conn struct {
	rdb        redis.UniversalClient
	o          Options
	ownsClient bool
	closed     atomic.Bool
	ctl        controls // the clients that end blocked reads (control.go)

	maxLen     any          // MaxLen boxed once for every XADD; nil for no cap
	topics     sync.Map     // topic -> keys
	nextTrim   atomic.Int64 // unix nanoseconds when streams are next trimmed by age
	roundRobin atomic.Uint32
}

var (
	_ driver.Pinger      = (*conn)(nil)
	_ driver.Namer       = (*conn)(nil)
	_ driver.SizeLimiter = (*conn)(nil)
)

func newConn(rdb redis.UniversalClient, opts *Options) (*conn, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	c := &conn{rdb: rdb, o: o}
	if o.MaxLen > 0 {
		c.maxLen = o.MaxLen
	}
	return c, nil
}

// topic returns the keys of topic, creating its metadata the first time
// any client uses it: the partition count is fixed then and read by every
// later client, whatever its own Partitions says.
func (c *conn) topic(ctx context.Context, topic string) (keys, error) {
	if k, ok := c.topics.Load(topic); ok {
		return k.(keys), nil
	}
	meta := topicKeys(topic, 0).meta
	prev, err := c.rdb.SetArgs(ctx, meta, c.o.Partitions, redis.SetArgs{Mode: "NX", Get: true}).Result()
	n := c.o.Partitions
	switch {
	case errors.Is(err, redis.Nil): // created now
	case err != nil:
		return keys{}, mapErr("read topic metadata of "+strconv.Quote(topic), err)
	default:
		if n, err = strconv.Atoi(prev); err != nil || n < 1 || n > maxPartitions {
			return keys{}, fmt.Errorf("topic %q: metadata key %s holds %q, not a partition count", topic, meta, prev)
		}
	}
	k := topicKeys(topic, n)
	c.topics.Store(topic, k)
	return k, nil
}

func (c *conn) MaxMessageBytes() int { return c.o.MaxMessageBytes }

// Publish appends msgs with one pipelined XADD each, trimming as it goes.
func (c *conn) Publish(ctx context.Context, msgs []driver.Message) error {
	if c.closed.Load() {
		return mq.ErrClosed
	}
	// The batch's XADD arguments share one slice. IDs, keys and payloads
	// go in as pointers to msgs' fields, which go-redis writes as it would
	// the values: boxing the values themselves costs an allocation each.
	nargs := 0
	for i := range msgs {
		nargs += 14 + 2*len(msgs[i].Headers)
	}
	args := make([]any, 0, nargs)
	cmds := make([]*redis.StringCmd, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		k, err := c.topic(ctx, m.Topic)
		if err != nil {
			return err
		}
		var p int
		if m.Key != "" {
			p = partitionOf(m.Key, len(k.streams))
		} else {
			p = int(c.roundRobin.Add(1) % uint32(len(k.streams)))
		}
		start := len(args)
		args = append(args, "xadd", &k.streams[p])
		if c.maxLen != nil {
			args = append(args, "maxlen", "~", c.maxLen)
		}
		args = append(args, "*", fieldID, &m.ID, fieldKey, &m.Key)
		if !timeInID(m) {
			args = append(args, fieldTime, strconv.FormatInt(m.Time.UnixNano(), 10))
		}
		args = append(args, fieldPayload, (*bytesArg)(&m.Payload))
		for name, v := range m.Headers {
			args = append(args, headerPrefix+name, v)
		}
		cmds[i] = redis.NewStringCmd(ctx, args[start:len(args):len(args)]...)
	}
	if len(msgs) == 1 && !c.trimDue(time.Now()) {
		return mapErr("", c.rdb.Process(ctx, cmds[0]))
	}
	pipe := c.rdb.Pipeline()
	for _, cmd := range cmds {
		_ = pipe.Process(ctx, cmd) // queued; Exec reports errors
	}
	c.queueTrims(ctx, pipe)
	_, err := pipe.Exec(ctx)
	return mapErr("", err)
}

// bytesArg hands a payload to go-redis by pointer, which boxes without an
// allocation; go-redis writes a BinaryMarshaler's bytes as they are.
type bytesArg []byte

func (b *bytesArg) MarshalBinary() ([]byte, error) { return *b, nil }

// timeInID reports whether m's ID is a UUIDv7 whose timestamp is m.Time to
// the millisecond, as for every message Publish gave an ID (also when it
// is published again from the outage buffer): then the entry needs no
// time field, and m.Time is read back from the ID.
func timeInID(m *driver.Message) bool {
	ms, ok := uuidV7Millis(m.ID)
	return ok && ms == m.Time.UnixMilli()
}

// uuidV7Millis returns the Unix milliseconds of a UUIDv7 in canonical
// form (8-4-4-4-12 hex digits, version 7, variant 10): its first 48 bits.
func uuidV7Millis(id string) (int64, bool) {
	if len(id) != 36 || id[14] != '7' || !strings.ContainsRune("89abAB", rune(id[19])) {
		return 0, false
	}
	var ms int64
	for i := range len(id) {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if id[i] != '-' {
				return 0, false
			}
			continue
		}
		c := id[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		if i < 13 {
			ms = ms<<4 | int64(d)
		}
	}
	return ms, true
}

// trimEvery bounds how often one stream is trimmed by age.
const trimEvery = time.Minute

// trimDue reports whether an age trim of this connection's streams is due.
func (c *conn) trimDue(now time.Time) bool {
	return c.o.MaxAge > 0 && now.Sub(time.Unix(0, c.nextTrim.Load())) >= 0
}

// queueTrims adds XTRIM MINID ~ for streams of this connection's topics
// whose last age trim is due. MAXLEN is applied by every XADD; age
// trimming is rare enough to ride along with a publish.
func (c *conn) queueTrims(ctx context.Context, pipe redis.Pipeliner) {
	now := time.Now()
	if !c.trimDue(now) {
		return
	}
	c.nextTrim.Store(now.Add(trimEvery).UnixNano())
	minID := strconv.FormatInt(now.Add(-c.o.MaxAge).UnixMilli(), 10) + "-0"
	c.topics.Range(func(_, v any) bool {
		for _, s := range v.(keys).streams {
			pipe.XTrimMinIDApprox(ctx, s, minID, 0)
		}
		return true
	})
}

func (c *conn) Subscribe(ctx context.Context, topic, group string) (driver.Receiver, error) {
	if c.closed.Load() {
		return nil, mq.ErrClosed
	}
	k, err := c.topic(ctx, topic)
	if err != nil {
		return nil, err
	}
	return newReceiver(ctx, c, topic, group, k)
}

func (c *conn) IsRetryable(err error) bool { return errors.Is(err, driver.ErrUnreachable) }

func (c *conn) Ping(ctx context.Context) error {
	if c.closed.Load() {
		return mq.ErrClosed
	}
	return mapErr("", c.rdb.Ping(ctx).Err())
}

func (c *conn) As(target any) bool {
	if p, ok := target.(*redis.UniversalClient); ok {
		*p = c.rdb
		return true
	}
	return false
}

func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.ctl.close()
	if !c.ownsClient {
		return nil
	}
	return c.rdb.Close()
}

// mapErr wraps err as ErrUnreachable when a later attempt may succeed,
// naming op, the step of a larger call that failed (none for a call that
// is one step: mq names the call, the topic and the provider). Context
// errors pass through unwrapped. The sentinel comes first, so that mq's
// wrapping names package mq once.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case redisx.Retryable(err) && op == "":
		return fmt.Errorf("%w: %v", driver.ErrUnreachable, err)
	case redisx.Retryable(err):
		return fmt.Errorf("%w: %s: %v", driver.ErrUnreachable, op, err)
	case op == "":
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

var _ driver.GroupDeleter = (*conn)(nil)

// DeleteGroup destroys group on every partition stream of topic (with its
// pending entries) and removes its member set and leases.
func (c *conn) DeleteGroup(ctx context.Context, topic, group string) error {
	k, err := c.topic(ctx, topic)
	if err != nil {
		return err
	}
	pipe := c.rdb.Pipeline()
	for _, s := range k.streams {
		pipe.XGroupDestroy(ctx, s, group)
		pipe.Del(ctx, leaseKey(s, group))
	}
	pipe.Del(ctx, membersKey(topic, group))
	_, err = pipe.Exec(ctx)
	return mapErr("delete group", err)
}

// ProviderName is Scheme: the name errors and metrics give the provider.
func (c *conn) ProviderName() string { return Scheme }
