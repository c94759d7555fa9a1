// Package cache is a two-layer cache: an in-process LRU (L1, golang-lru)
// in front of Redis (L2), with cache-aside loading that runs once per
// process or once across processes, negative caching, TTL jitter,
// refresh-ahead (XFetch), write-through and write-behind stores, tags,
// hot-key detection, read-your-writes tokens and cross-instance L1
// invalidation.
//
//	users, err := cache.New[User](rdb, cache.WithTTL(10*time.Minute), cache.WithRefreshAhead(1))
//	u, err := users.GetOrLoad(ctx, "user:42", func(ctx context.Context) (User, error) {
//		u, err := db.User(ctx, 42)
//		if errors.Is(err, sql.ErrNoRows) {
//			return User{}, cache.ErrNotFound // remembered for the negative TTL
//		}
//		return u, err
//	}, cache.LoadTags("org:7"))
//	...
//	err = users.InvalidateTags(ctx, "org:7") // every entry of org 7, on every instance
//
// A nil client makes an in-process cache; everything but distributed
// loading works on it, within the process.
//
// # Keys
//
// An entry lives in Redis under <prefix><key> (prefix "cache:" unless
// WithPrefix). Its value is a header — one byte 'v' (a value) or 'n' (a
// cached absence), how long the load took, the entry's tags with their
// versions — then the value, encoded with JSON unless WithCodec ([]byte
// values are stored as they are). A tag has a version under
// <prefix>tag:{<tag>} and an index of its entries under
// <prefix>tag:{<tag>}:keys (one slot per tag). Invalidations travel on
// the Pub/Sub channel <prefix>__invalidate. Distributed loads lock
// <prefix>load:<key> (package lock).
//
// # Loading
//
// GetOrLoad runs the loader once per process for concurrent misses of one
// key (singleflight, with a second look at Redis before loading); other
// processes may load the same key too, unless WithDistributedLoad: then one
// process in all loads it, holding a lock (package lock, with a watchdog)
// while the others wait for the value in Redis, each bounded by its ctx. A
// loader's ErrNotFound is cached for the negative TTL (default 10s); other
// loader errors are not cached. TTLs are spread by ±10% (WithJitter) so
// that entries written together do not expire together.
//
// With WithRefreshAhead(β), a GetOrLoad hit reloads the key in the
// background with probability rising as expiry nears (XFetch: when
// now − Δ·β·ln(rand) ≥ expiry, Δ the last load's duration), so that a key
// read steadily is reloaded shortly before it expires and no caller waits
// for a load. The reload runs once at a time per key in the process (and
// across processes with WithDistributedLoad); it stops at Close.
//
// # Stores
//
// WithStore makes Set write-through: the store first, then the cache; a
// store error leaves the cache unchanged. WithWriteBehind makes it
// write-behind: the cache first, the store later, writes to a key
// coalesced, saved in batches by size or interval, failed batches retried
// with backoff; Stats().PendingWrites counts what waits. Shutdown and Close
// save what waits; writes not saved when the process dies are lost (the
// loss window: up to one interval, longer while the store fails). Delete
// and InvalidateTags empty the cache, not the store.
//
// # Consistency across instances
//
// Set, Delete and a load write Redis and publish the key in one pipeline;
// every instance drops it from its local layers when the message arrives,
// so after a write returns, other instances serve the new value once the
// invalidation has arrived and not the old one after that. A read (or
// write) that overlapped an invalidation or another write does not fill
// L1: what it saw may be older. The local layers are filled only while the
// invalidation subscription is live and are emptied whenever it is
// re-established, since Pub/Sub loses what is published while a
// subscriber is away; the L1 ttl (WithLocal, default 1 minute) bounds
// staleness should a message still be lost. Why a channel and not CLIENT
// TRACKING: see invalidate.go.
//
// Tags: InvalidateTags gives each tag a new version in one script, so that
// every entry written under the old version is stale at once for every
// reader of Redis, standalone or Cluster; local copies go when the
// announcement arrives, as for Set. See tags.go for why versions.
//
// Read-your-writes: Set with ReturnToken yields a Token; a Get whose ctx
// carries it (WithTokens) sees that write or a newer one on any instance,
// reading Redis while the instance's L1 has not yet heard of the write.
//
// Hot keys: WithHotKeys counts reads per key (space-saving top-k over a
// sliding window) and keeps the most read keys locally even where L1 is
// off (WithLocal(0, ...)) or excluded (WithLocalKeys); HotKeys lists them.
//
// When Redis cannot be reached, Get serves what the local layers hold and
// otherwise returns the error; a zero value is never returned as a hit.
// GetOrLoad returns the error too, or calls the loader with
// WithFallbackToLoader.
//
// # Errors
//
// ErrMiss (not cached), ErrNotFound (a cached absence), ErrClosed,
// ErrInvalid (empty key or tag, bad options, a malformed entry or token),
// ErrUnsaved (write-behind writes given up at Shutdown); Redis and store
// failures are wrapped with the operation and key.
//
// # As
//
// There is no native client to reach: the cache uses the
// redis.UniversalClient it is given.
package cache
