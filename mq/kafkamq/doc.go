// Package kafkamq is the Kafka provider of package mq, on franz-go (kgo).
// Import it for its side effect:
//
//	import _ "github.com/groundwork-go/groundwork/mq/kafkamq"
//
//	client, err := mq.Open(ctx, "kafka://broker1:9092,broker2:9092?acks=all&linger=5ms")
//
// or build the kgo client yourself and wrap it:
//
//	cl, err := kgo.NewClient(kgo.SeedBrokers("broker1:9092"), kgo.SASL(...))
//	conn, err := kafkamq.New(cl, &kafkamq.Options{Partitions: 12})
//	client, err := mq.NewClient(conn)
//
// # URLs
//
//	kafka://host1:9092[,host2:9092...][?param=value&...]
//
// Every parameter (any other is an error):
//
//   - client_id: the Kafka client ID; default "groundwork".
//   - acks: all (default), leader or none. The idempotent producer is on
//     with acks=all and off otherwise (Kafka requires that).
//   - linger: how long the producer waits to fill a batch, a Go duration;
//     default 0 (send as soon as possible; franz-go still batches what
//     accumulates while a request is in flight).
//   - compression: none (default), gzip, snappy, lz4 or zstd.
//   - max_message_bytes: the broker's message.max.bytes (or the topic's
//     max.message.bytes), the largest record batch it takes. The producer
//     keeps its batches to it, and Publish accepts messages (key, value,
//     headers) of up to max_message_bytes-512 bytes, room for a record's
//     framing; larger ones fail with mq.ErrTooLarge before sending.
//     Default 1000012 (franz-go's default batch cap, which Kafka's
//     default of 1048588 accepts). A value above the broker's limit has
//     the broker refuse full batches; the outage buffer then splits them.
//   - delivery_timeout: how long one publish attempt may take before it
//     fails (retryably) and mq's retry policy or outage buffer takes over;
//     default 30s.
//   - partitions: partitions of topics Subscribe creates; default -1, the
//     broker's default.
//   - create_topics: true (default) lets Subscribe create a missing topic
//     (with "partitions" partitions) and Publish have the broker create one
//     (with the broker's default, if its auto.create.topics.enable allows);
//     false leaves topics to the operator.
//   - session_timeout, heartbeat_interval, rebalance_timeout: consumer
//     group timings, Go durations; defaults 45s, 3s and 60s as in kgo.
//   - commit_interval: how often handled offsets are committed; default 1s.
//     Offsets are also committed before a partition is given up and on
//     Close.
//
// # Guarantees
//
// Publishing: Publish returns once every record is acknowledged by the
// broker under the acks setting. Keys pick partitions with Kafka's murmur2
// partitioner, the same as the Java client and librdkafka, so records
// interoperate with every other Kafka client. The message ID travels in the
// "mq-id" header. The record timestamp is when the record was produced;
// Message.Time is that timestamp (millisecond precision) for a fresh
// publish, and travels in the "mq-time" header (nanoseconds) when it is
// older — a message held in the outage buffer, or one whose Time the caller
// set.
//
// A record batch the broker refuses for good (MESSAGE_TOO_LARGE: a message
// over the topic's max.message.bytes, or max_message_bytes set above the
// broker's limit) makes franz-go fail the records of that partition
// buffered behind it, but records one Publish call hands it after that may
// still be written. When the outage buffer then resends the failed ones
// (see mq, "Refused while buffered"), messages of that partition can arrive
// out of publish order. With max_message_bytes at or below the broker's
// limit, only a message the topic's own, lower limit refuses can cause it.
//
// Consuming: every Subscribe is a group member with its own kgo client,
// balanced cooperative-sticky. Records are fetched in batches and handled
// concurrently by mq's per-key workers. An offset is committed only over
// the contiguous run of handled records of its partition: a slow or
// retrying record never lets a later offset be committed past it, while
// other keys of the partition keep flowing. When a partition is revoked
// (a member joins or leaves), the member stops taking its records, hands
// back to the group the ones mq has queued but not started (including a
// record waiting out a retry backoff), waits only for the handlers
// running, and commits before giving the partition up: a rebalance takes
// as long as the slowest running handler, not the whole prefetch, so it
// stays within rebalance_timeout and no key runs on two members at once.
// The next owner continues in order from the commit. A partition lost
// without a chance to commit (the member was evicted) has its running
// handlers' context cancelled. A member that dies leaves its uncommitted
// records to the next owner: at-least-once, with duplicates limited to
// what was handled after the last commit (commit_interval).
//
// A new group starts at the records published from the moment its first
// Subscribe began (the group's offsets are set by timestamp before it
// joins, to Kafka's millisecond: records of that same millisecond are
// included), so nothing published after Subscribe returned is missed, and a
// new group does not replay the topic's history. WithEphemeralGroup
// deletes the group (kadm DeleteGroup) when its subscription ends. Kafka has no delivery
// count: Message.Attempt counts attempts within one member only. Records
// not produced by mq (no "mq-id" header) get the ID "topic/partition/offset".
//
// # Errors
//
// Broker and network failures that kgo reports as retryable, and delivery
// timeouts, wrap mq.ErrUnreachable; MESSAGE_TOO_LARGE wraps
// mq.ErrTooLarge. Bad URLs wrap mq.ErrBadURL and name the parameter.
//
// # As
//
// Client.As accepts a **kgo.Client (the producing client) and a
// **kadm.Client.
//
// Subscription.As accepts a **kgo.Client: the member's own client, the
// one in the consumer group, for reading its state (GroupMetadata,
// OptValue). It belongs to the subscription, which polls, commits and
// closes it: do not poll, commit, pause or close it yourself. Once the
// subscription's Close (or Shutdown) has begun, Subscription.As returns
// false.
package kafkamq
