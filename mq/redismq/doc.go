// Package redismq is the Redis Streams provider of package mq, on go-redis
// v9. It works with a standalone server, Sentinel and Redis Cluster (7.0
// or later). Import it for its side effect:
//
//	import _ "github.com/groundwork-go/groundwork/mq/redismq"
//
//	client, err := mq.Open(ctx, "redis://localhost:6379/0?partitions=8")
//
// or wrap a go-redis client built yourself, which the application's
// other Redis users (lock, cache, ...) may share (see # Sharing one Redis):
//
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
//	conn, err := redismq.New(rdb, &redismq.Options{Partitions: 16})
//	client, err := mq.NewClient(conn)
//
// # URLs
//
//	redis://[user:password@]host:port[/db][?param=value&...]
//	rediss://...                              (TLS)
//	redis://host1:port,host2:port,host3:port[?...]   (Redis Cluster)
//	redis://host1:port?cluster=true[&addr=host2:port...]   (the same)
//
// Parameters of this package (any parameter not listed here goes to
// go-redis's ParseURL or ParseClusterURL — dial_timeout, read_timeout,
// pool_size, protocol, ... — and an unknown one is an error):
//
//   - partitions: streams per topic, for topics this client creates;
//     default 8, at most 1024. See Topics.
//   - max_len: cap on each partition stream, applied by every XADD as
//     MAXLEN ~; default 1000000; -1 for none.
//   - max_age: entries older than this are trimmed (XTRIM MINID ~, by the
//     entry ID's timestamp, sent by publishers at most once a minute per
//     client); a Go duration, default 168h; -1 for none.
//   - visibility_timeout: how long a member that stops renewing its
//     membership (because it died, hung or lost Redis) keeps its partitions
//     before live members take them over and reclaim what it had received
//     and not acknowledged; default 30s.
//   - heartbeat_interval: how often members renew their leases and notice
//     members joining or leaving; default visibility_timeout/10, at most
//     half of it.
//   - block: how long one XREADGROUP waits for entries; default 1s.
//     Closing a subscription, or handing a partition over, ends a blocked
//     read at once (CLIENT UNBLOCK; see # Connections).
//   - read_count: entries per XREADGROUP; default 256.
//   - ack_interval: how long acknowledgements may wait to be sent together
//     in one XACK per partition; default 100ms.
//   - max_message_bytes: the largest message (key, payload, headers)
//     Publish accepts; default 1048576. Larger ones fail with
//     mq.ErrTooLarge before anything is sent.
//   - cluster: true for a Redis Cluster (implied by a host list).
//
// go-redis's own retries are off for clients opened from a URL unless
// max_retries is given: mq's retry policy and outage buffer own retrying.
//
// # Topics
//
// A topic is a fixed number of partition streams, mq:{topic/0} ...
// mq:{topic/N-1}, each under its own hash tag so that in a Cluster each
// lives in one slot and the partitions spread over the masters. A
// message's key picks its partition by 32-bit FNV-1a of the key modulo N;
// keyless messages go round-robin. The partition count is stored in
// mq:{topic}:meta by the first client that uses the topic and read by every
// later one, whatever its own partitions parameter says; changing it means
// a new topic. Each entry holds the fields id, key, payload, and one field
// "h:<name>" per header. Message.Time is not stored twice: the ID Publish
// gives a message is a UUIDv7, which carries its publish time to the
// millisecond, and a receiver reads Time from it. Only a message whose Time
// differs from its ID's (one given an ID or a back-dated Time by the
// caller) has a time field too, in Unix nanoseconds; entries written
// before this layout have it always, and it wins. Entries added by other
// tools arrive with their fields as headers, with the ID
// "<stream>/<entry ID>" and the entry ID's time.
//
// # Guarantees
//
// Publishing: Publish returns once Redis has appended every message (one
// pipelined XADD each). Durability is the server's: with appendfsync
// everysec an acknowledged message survives a clean restart and at most
// the last second of them is lost if the server crashes.
//
// Consuming: every Subscribe is a member of a consumer group on each of the
// topic's streams. The group is created on every partition, from the
// stream's end, before Subscribe returns, so everything published after it
// reaches the group. Members own partitions exclusively through leases
// (mq:{topic/p}:lease:<group>, renewed every heartbeat); the assignment is
// recomputed whenever members join or leave (rendezvous hashing with fair
// shares: a member joining takes about partitions/members of them and few
// others move), and Subscribe waits (up to visibility_timeout) until the
// new member owns its share. Members tell each other when they join, give
// partitions up and leave (Pub/Sub on mq:{topic}:notices:<group>), so a
// hand-over takes a few round trips and the handlers running on the moved
// partitions, not heartbeats; a notice lost on the way (a listener
// reconnecting) only delays it to the next heartbeat. Close hands its
// partitions back the same way. A member gives a partition up by handing back
// the entries it fetched and has not started (they stay pending, marked
// claimable at once) and waiting only for the handlers running; the next
// owner claims the handed-back entries first and continues in order:
// messages with one key are handled in publish order across members and
// hand-overs. Entries are fetched in batches by one reader per owned
// partition and handled concurrently by mq's per-key workers.
//
// Fencing: a member that cannot renew a lease within visibility_timeout
// (Redis unreachable, a long pause), or finds it taken, stops reading the
// partition at once, cancels the context of the handlers running on it,
// and hands back the rest. The next owner claims (XCLAIM) only entries
// idle for visibility_timeout, and reads nothing of the partition before
// every pending entry is: so it never starts on an entry, or on a later
// entry of the same key, while an earlier holder may still be handling
// one.
//
// Attempts: a hand-over is not an attempt. A handed-back entry's delivery
// count is set to its attempt number, and entries are claimed with XCLAIM
// and an explicit count, so Message.Attempt counts handler runs across
// members. A member that dies without leaving keeps its partitions until
// its lease runs out (visibility_timeout); the next owner then claims what
// it held and handles it before anything newer. Whether the dead member
// started an entry is unknown: the first death while holding it is not
// counted (so WithMaxAttempts(1) survives a member crash), later ones are, and an entry whose attempts passed the subscription's
// WithMaxAttempts — the members that claimed it kept dying — goes to the
// dead-letter topic without running the handler again. So delivery is at
// least once, with duplicates limited to what a dead member handled in its
// last ack_interval, or had handled and not acknowledged.
//
// Lost replies: Redis counts an entry as delivered when it serves the
// read, so a reply lost on the wire (the connection cut after the server
// answered) leaves its entries pending for a member that never saw them.
// The member looks for them after any read that failed on the wire —
// pending for it and newer than every entry it saw — and handles them, as
// the attempts they were, rather than keep them unhandled for as long as
// it owns the partition. A claim (XCLAIM) whose reply is lost likewise
// leaves its entries with the member: it looks up which of the entries it
// was claiming are pending for it now and claims those again, as the
// attempts they were. Close never loses a reply: it ends blocked reads
// with CLIENT UNBLOCK, whose answer comes whole, and hands back what a
// read fetched as it stopped.
//
// Dedup: NewDedup is an mq.DedupStore in Redis, usable with any provider.
//
// WithEphemeralGroup destroys the group on every partition stream (with
// its pending entries) and removes its member set and leases when the
// subscription ends.
//
// Retention: trimming ignores consumer groups. A group that lags by more
// than max_len entries or max_age loses the entries trimmed before it read
// them, as a Kafka consumer past retention does; entries it had received
// and that were trimmed before it acknowledged them are logged and dropped
// from its pending list when claimed. Size max_len and max_age to the
// longest outage of a consumer you want to ride out.
//
// # Errors
//
// Network failures, timeouts, a server loading its data, CLUSTERDOWN,
// TRYAGAIN, READONLY, MASTERDOWN and an exhausted connection pool wrap
// mq.ErrUnreachable (retryable). Bad URLs wrap mq.ErrBadURL and name the
// parameter.
//
// # As
//
// Client.As accepts a *redis.UniversalClient.
//
// Subscription.As accepts nothing: a subscription has no client of its
// own, it reads and acknowledges through the client's, which Client.As
// hands out.
//
// # Connections
//
// A subscription holds, on the go-redis client it was given or built:
//
//   - one pooled connection for each partition it owns, while that
//     partition's XREADGROUP blocks (an idle partition's reader blocks
//     almost all the time; a busy one's reads return at once). The
//     members of a group share the partitions, so a group blocks at most
//     partitions connections however many members it has.
//   - one Pub/Sub connection for the group's notices, outside the pool
//     (go-redis keeps those apart from pool_size).
//   - pooled connections for a round trip at a time: heartbeats, leases,
//     acknowledgements, claims; publishing likewise.
//
// So size pool_size above (subscriptions × partitions) + the concurrent
// publishers and other users of the client; go-redis's default, 10 per
// CPU, is short of that on a small machine (3 subscriptions of 8
// partitions block 24 connections). A pool too small makes everything on
// the client wait up to pool_timeout for a connection while blocked reads
// hold them. Ending the blocked reads (Close, hand-overs) does not wait
// for the pool: see below.
//
// A blocked read is ended by CLIENT UNBLOCK <id> TIMEOUT from another
// connection to the same server, so the read runs on a connection whose
// client ID was asked first (CLIENT ID, once per read that blocks; a read
// that finds entries goes without). The UNBLOCKs go over connections of
// the provider's own, outside the client's pool: a small go-redis client
// per server (at most 4 connections, 1 kept idle), built from the options
// of the client's node for that server (address, dialer, OnConnect,
// credentials, TLS, timeouts), dialled at the first UNBLOCK and closed
// with the provider. Not with Sentinel: a connection of the provider's
// own could outlive a failover on the demoted master, where the client ID
// may name another client, so there the UNBLOCKs take a pooled connection
// (go-redis drops those on failover) and a pool held by blocked reads
// makes Close wait up to block. That needs a *redis.Client, a
// *redis.ClusterClient or a *redis.Ring, and a server (an ACL) that
// allows CLIENT ID and CLIENT UNBLOCK; otherwise reads end within block.
// Cancelling the read's context cannot do it: go-redis does not watch a
// command's context once the command is written. An UNBLOCK left
// unanswered (a slow path to the server) may still arrive later: the
// connection it was meant for is then closed, not given back to the pool,
// so it never ends a blocking command of another user of the client.
//
// # Sharing one Redis
//
// mq, lock, cache and the rest can share one go-redis client, configured
// by one URL: ParseURL splits a URL of this package into go-redis's
// options and this package's Options.
//
//	ropts, opts, err := redismq.ParseURL(os.Getenv("REDIS_URL")) // redis://host:6379/0?partitions=8&pool_size=64
//	rdb := redis.NewUniversalClient(ropts)
//	defer rdb.Close()
//	conn, err := redismq.New(rdb, opts)
//	client, err := mq.NewClient(conn) // Close leaves rdb open
//	locker := lock.New(rdb)
//	users, err := cache.New[User](rdb)
//
// Closing a Client made on a caller's client leaves that client open and
// gives back every connection it took.
package redismq
