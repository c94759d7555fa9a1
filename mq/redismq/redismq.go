package redismq

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
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
	fieldTime    = "time" // unix nanoseconds
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
		return nil, err
	}
	c.ownsClient = true
	return c, nil
}

// parseURL splits u into this package's Options and a go-redis client
// built from the rest.
func parseURL(u *url.URL) (redis.UniversalClient, Options, error) {
	q := u.Query()
	o, err := parseParams(q)
	if err != nil {
		return nil, o, err
	}
	rest := *u
	rest.RawQuery = q.Encode()
	rdb, err := redisx.NewClient(&rest, true)
	if err != nil {
		return nil, o, fmt.Errorf("%w: %v (redismq takes %v; any other parameter goes to go-redis)", driver.ErrBadURL, err, ownParams)
	}
	return rdb, o, nil
}

// New wraps a go-redis client the caller built (standalone, Cluster,
// Sentinel or Ring with one shard) as an mq connection. Closing the
// connection leaves rdb open.
func New(rdb redis.UniversalClient, opts *Options) (driver.Conn, error) {
	if rdb == nil {
		return nil, fmt.Errorf("redismq: New: nil client")
	}
	return newConn(rdb, opts)
}

// conn publishes with pipelined XADDs and hands out receivers.
type conn struct {
	rdb        redis.UniversalClient
	o          Options
	ownsClient bool
	closed     atomic.Bool

	topics     sync.Map     // topic -> keys
	nextTrim   atomic.Int64 // unix nanoseconds when streams are next trimmed by age
	roundRobin atomic.Uint32
}

var (
	_ driver.Pinger      = (*conn)(nil)
	_ driver.SizeLimiter = (*conn)(nil)
)

func newConn(rdb redis.UniversalClient, opts *Options) (*conn, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &conn{rdb: rdb, o: o}, nil
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
			return keys{}, fmt.Errorf("redismq: topic %q: metadata key %s holds %q, not a partition count", topic, meta, prev)
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
		return fmt.Errorf("redismq: %w", mq.ErrClosed)
	}
	// One allocation each for the batch's XADD arguments and field lists.
	args := make([]redis.XAddArgs, len(msgs))
	nvals := 0
	for i := range msgs {
		nvals += 8 + 2*len(msgs[i].Headers)
	}
	vals := make([]any, 0, nvals)
	for i := range msgs {
		var err error
		if vals, err = c.xaddArgs(ctx, &args[i], &msgs[i], vals); err != nil {
			return err
		}
	}
	if len(msgs) == 1 && !c.trimDue(time.Now()) {
		return mapErr("publish", c.rdb.XAdd(ctx, &args[0]).Err())
	}
	pipe := c.rdb.Pipeline()
	for i := range args {
		pipe.XAdd(ctx, &args[i])
	}
	c.queueTrims(ctx, pipe)
	_, err := pipe.Exec(ctx)
	return mapErr("publish", err)
}

// xaddArgs fills a with m's XADD, its fields appended to vals.
func (c *conn) xaddArgs(ctx context.Context, a *redis.XAddArgs, m *driver.Message, vals []any) ([]any, error) {
	k, err := c.topic(ctx, m.Topic)
	if err != nil {
		return vals, err
	}
	var p int
	if m.Key != "" {
		p = partitionOf(m.Key, len(k.streams))
	} else {
		p = int(c.roundRobin.Add(1) % uint32(len(k.streams)))
	}
	start := len(vals)
	vals = append(vals, fieldID, m.ID, fieldKey, m.Key, fieldTime, strconv.FormatInt(m.Time.UnixNano(), 10), fieldPayload, m.Payload)
	for name, v := range m.Headers {
		vals = append(vals, headerPrefix+name, v)
	}
	*a = redis.XAddArgs{Stream: k.streams[p], Values: vals[start:len(vals):len(vals)], Approx: true}
	if c.o.MaxLen > 0 {
		a.MaxLen = c.o.MaxLen
	}
	return vals, nil
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
		return nil, fmt.Errorf("redismq: %w", mq.ErrClosed)
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
		return fmt.Errorf("redismq: %w", mq.ErrClosed)
	}
	return mapErr("ping", c.rdb.Ping(ctx).Err())
}

func (c *conn) As(target any) bool {
	if p, ok := target.(*redis.UniversalClient); ok {
		*p = c.rdb
		return true
	}
	return false
}

func (c *conn) Close() error {
	if c.closed.Swap(true) || !c.ownsClient {
		return nil
	}
	return c.rdb.Close()
}

// mapErr wraps err with the operation, as ErrUnreachable when a later
// attempt may succeed. Context errors pass through unwrapped.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case redisx.Retryable(err):
		return fmt.Errorf("redismq: %s: %w: %v", op, driver.ErrUnreachable, err)
	}
	return fmt.Errorf("redismq: %s: %w", op, err)
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
