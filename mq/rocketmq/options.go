package rocketmq

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

const (
	// defaultMaxMessageBytes is RocketMQ's default maxMessageSize (4 MiB).
	defaultMaxMessageBytes = 4 << 20
	// messageFraming is what a message's properties (ID, time, the
	// client's UNIQ_KEY) and record header add beyond Message.Size; the
	// provider accepts messages of up to MaxMessageBytes-messageFraming.
	messageFraming = 1024
	// minMessageBytes is the smallest max_message_bytes accepted.
	minMessageBytes = 2 * messageFraming
	// minLockInterval and maxLockInterval bound LockInterval: renewals
	// well inside the client's 30 s lock lifetime, not a tight loop.
	minLockInterval = 100 * time.Millisecond
	maxLockInterval = 25 * time.Second
	// maxPropertiesBytes is the longest properties string RocketMQ's
	// record format holds (a 16-bit signed length), less room for what the
	// client adds (UNIQ_KEY, WAIT).
	maxPropertiesBytes = 32767 - 256
)

// Options configures a connection made by New; the URL's parameters set
// the same fields (see # URLs). The zero value (or nil) is usable; each
// field's default is given with it.
type Options struct {
	// Namespace prefixes topics and groups ("ns%topic"), as the client's
	// WithNamespace does: up to 64 of the characters a-z, A-Z, 0-9, "_"
	// and "-"; default none.
	Namespace string
	// ProducerGroup is the producer group of the connection's producer;
	// default "groundwork".
	ProducerGroup string
	// Instance starts the instance name of every native producer and
	// consumer the connection builds, each of which gets a unique suffix
	// (the client shares one native client per instance name and IP in
	// the process, and the broker tells group members apart by it);
	// default "groundwork".
	Instance string
	// Credentials are the ACL access key, secret key and security token;
	// default none.
	Credentials primitive.Credentials
	// SendTimeout bounds one send; a send that times out fails
	// (retryably) and mq's retry policy or outage buffer takes over.
	// Default 3s.
	SendTimeout time.Duration
	// Queues is the queue count of topics the connection creates
	// (Subscribe, and the producer's auto-creation through TBW102);
	// default 4.
	Queues int
	// NoCreateTopics stops Subscribe from creating a missing topic.
	NoCreateTopics bool
	// ConsumeBatchSize is how many messages of one queue a member hands
	// to mq at once (the client's ConsumeMessageBatchMaxSize): at most
	// that many per queue are in flight, and a hand-back redelivers the
	// whole batch. Default 32.
	ConsumeBatchSize int
	// PullBatchSize is how many messages one pull fetches; default 32.
	PullBatchSize int
	// MaxMessageBytes is the broker's maxMessageSize. Publish accepts
	// messages (key, payload and headers) of up to MaxMessageBytes-1024
	// bytes, room for the properties the message carries; larger ones
	// fail with mq.ErrTooLarge before sending. Default 4 MiB, RocketMQ's
	// default.
	MaxMessageBytes int
	// SuspendInterval is how long a queue waits before redelivering a
	// batch mq handed back (Nack), at least 1ms; default 100ms.
	SuspendInterval time.Duration
	// LockInterval is how often a member renews its broker-side queue
	// locks, 100ms to 25s (the client counts a lock as lapsed 30s after
	// its renewal); default 20s, the client's. The broker lets a lock lapse
	// after its own lock lifetime (60s on RocketMQ).
	LockInterval time.Duration
	// Logger receives the client's errors while the connection is the
	// open one made last (the client's rlog output is process-wide: see
	// the package doc); default slog.Default().
	Logger *slog.Logger
	// ProducerOptions are added to the options of the connection's
	// producer (TLS, interceptors, remoting timeouts...). Options the
	// provider's guarantees rest on are applied after them and win:
	// WithRetry(0) and the key-hash queue selector.
	ProducerOptions []producer.Option
	// ConsumerOptions are added to the options of every push consumer
	// Subscribe builds. Options the provider's guarantees rest on are
	// applied after them and win: the group, a unique instance name,
	// clustering, orderly consumption, AutoCommit, MaxReconsumeTimes(-1)
	// (never the broker's retry topic), consume-from-timestamp, the
	// batch sizes above, and the allocation strategy (the client's
	// AllocateByAveragely, wrapped to hand the queues a rebalance moves
	// over: see the package doc).
	ConsumerOptions []consumer.Option
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.ProducerGroup == "" {
		r.ProducerGroup = "groundwork"
	}
	if r.Instance == "" {
		r.Instance = "groundwork"
	}
	if r.SendTimeout <= 0 {
		r.SendTimeout = 3 * time.Second
	}
	if r.Queues <= 0 {
		r.Queues = 4
	}
	if r.ConsumeBatchSize <= 0 {
		r.ConsumeBatchSize = 32
	}
	if r.PullBatchSize <= 0 {
		r.PullBatchSize = 32
	}
	if r.MaxMessageBytes <= 0 {
		r.MaxMessageBytes = defaultMaxMessageBytes
	}
	if r.SuspendInterval <= 0 {
		r.SuspendInterval = 100 * time.Millisecond
	}
	if r.LockInterval <= 0 {
		r.LockInterval = 20 * time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}

// validate checks the ranges the client enforces (or silently clamps), so
// that a bad value is an error naming the field at construction.
func (o *Options) validate() error {
	switch {
	case o.Queues < 0 || o.Queues > 1024:
		return fmt.Errorf("queues %d: want 1 to 1024", o.Queues)
	case o.ConsumeBatchSize < 0 || o.ConsumeBatchSize > 1024:
		return fmt.Errorf("consume_batch_size %d: want 1 to 1024", o.ConsumeBatchSize)
	case o.PullBatchSize < 0 || o.PullBatchSize > 1024:
		return fmt.Errorf("pull_batch_size %d: want 1 to 1024", o.PullBatchSize)
	case o.MaxMessageBytes != 0 && (o.MaxMessageBytes < minMessageBytes || o.MaxMessageBytes > 1<<30):
		return fmt.Errorf("max_message_bytes %d: want %d to 1 GiB", o.MaxMessageBytes, minMessageBytes)
	case o.SendTimeout < 0 || o.SuspendInterval < 0 || o.LockInterval < 0:
		return fmt.Errorf("negative duration (send_timeout %v, suspend_interval %v, lock_interval %v)",
			o.SendTimeout, o.SuspendInterval, o.LockInterval)
	case o.LockInterval != 0 && (o.LockInterval < minLockInterval || o.LockInterval > maxLockInterval):
		// The client stops consuming a queue whose lock it has not
		// renewed for 30 s, and the broker lets the lock go after 60 s;
		// a tiny interval renews in a tight loop.
		return fmt.Errorf("lock_interval %v: want %v to %v (the client counts a lock as lapsed 30s after its renewal)",
			o.LockInterval, minLockInterval, maxLockInterval)
	case o.SuspendInterval != 0 && o.SuspendInterval < time.Millisecond:
		// The client takes whole milliseconds: 0 redelivers at once, in a loop.
		return fmt.Errorf("suspend_interval %v: want at least 1ms", o.SuspendInterval)
	case (o.Credentials.AccessKey == "") != (o.Credentials.SecretKey == ""):
		return fmt.Errorf("credentials need both access_key and secret_key")
	}
	return checkNamespace(o.Namespace)
}
