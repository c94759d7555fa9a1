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
// Everything a cache keeps in Redis lives under its prefix ("cache:"
// unless WithPrefix), in one namespace per kind, so that no key a caller
// chooses can reach a tag's version or index or a load lock:
//
//	<prefix>k:<key>           the entry (or a lease or write marker in its place)
//	<prefix>t:{<tag>}         a tag's version
//	<prefix>t:{<tag>}:keys    the index of the tag's entries (same slot)
//	<prefix>l:{<key>}         the distributed load lock (package lock)
//	<prefix>l:{<key>}:fence   its fencing counter
//
// An entry's value is a head — one byte 'v' (a value) or 'n' (a cached
// absence), then the 8-byte id of the write that stored it — then how
// long the load took, the entry's tags with their versions, then the
// value, encoded with JSON unless WithCodec ([]byte values are stored as
// they are). A lease ('l') or a write marker ('w') is a head alone.
// Invalidations travel on the Pub/Sub channel <prefix>__invalidate.
//
// This layout replaced, before 1.0, one that put entries at
// <prefix><key> beside tags at <prefix>tag:{<tag>} and locks at
// <prefix>load:{<key>}, where a user key such as "tag:{t}:keys" broke tag
// t: a cache of this version neither reads nor removes entries written
// by an older one (they expire), so instances of both should not share a
// prefix during an upgrade.
//
// Prefixes of caches sharing a Redis must not nest ("app:" and "app:k:"):
// a user key of the one would be an internal key of the other. New
// refuses (ErrInvalid) a prefix that nests with that of an open cache on
// the same client; caches on other clients or in other processes cannot
// be checked — choosing disjoint prefixes is then the caller's part.
//
// # Loading
//
// GetOrLoad runs the loader once per process for concurrent misses of one
// key (a shared flight, with a second look at Redis — not at the local
// layers, which its callers may have skipped for their read-your-writes
// tokens — before loading);
// other processes may load the same key too, unless WithDistributedLoad:
// then one process in all loads it, holding a lock (package lock, with a
// watchdog) while the others poll Redis, with backoff, for its value. A
// loader's ErrNotFound is cached for the negative TTL (default 10s);
// other loader errors are not cached. TTLs are spread by ±10%
// (WithJitter) so that entries written together do not expire together.
//
// A write wins over a load. Before the loader reads the system of record,
// the load puts a lease in the entry's place in Redis; it stores what it
// read only if the lease is still there, in one script. A Set, a Delete or
// an InvalidateTags of its tags in between replaces the lease (or the
// tags' versions), so the value read before the write is returned to the
// caller but never cached after it (Facebook's memcache leases). Loads in
// several processes share one lease; a lease that expires (WithLoadTimeout
// plus a second) fails the fill: a miss, never a stale value.
//
// A load is bounded: it runs with a ctx that carries the values of the
// caller that started it (trace span, tenant, tokens) and ends at the
// load timeout (WithLoadTimeout, default 30s), at Close, or when every
// caller waiting for it has given up; each caller stops waiting when its
// own ctx ends. A loader that ignores its ctx does not hold its key up:
// once its flight is over, the next miss loads afresh (and the
// distributed lock is released). Shutdown waits for loaders to return
// until its ctx ends (Close: 10 seconds), then leaves the rest running
// and returns ErrLeftBehind; what they return is not cached. A loader
// that panics (or a codec) fails its load: every caller waiting for it
// gets an error wrapping ErrPanic, and a refresh ahead logs it; the
// process goes on.
//
// With WithRefreshAhead(β), a GetOrLoad hit reloads the key in the
// background with probability rising as expiry nears (XFetch: when
// now − Δ·β·ln(rand) ≥ expiry, Δ the last load's duration), so that a key
// read steadily is reloaded shortly before it expires and no caller waits
// for a load. The reload runs once at a time per key in the process (and
// across processes with WithDistributedLoad); it replaces the entry only
// if no write replaced it meanwhile; it stops at Close.
//
// # Stores
//
// WithStore makes Set write-through: a write marker takes the key's place
// in Redis, the store saves the value, then the value replaces the marker
// — unless something replaced the marker meanwhile (another write,
// Delete, InvalidateTags, eviction): then the store's order is unknown
// and a load may have read either value, so a fresh marker takes the key
// for the lease time (WithLoadTimeout plus a second), during which loads
// read the store and cache nothing; after it, the next load caches what
// the store settled on. The fill after the save runs even if Set's ctx
// has ended (for up to 5 seconds). A failed save leaves the key
// uncached; if the marker cannot be written, Set fails before saving.
// Known limit: if Redis itself fails for that last fill (Set's error
// says "saved to the store; Redis not updated"), a value a load cached
// after the marker was removed stays until its TTL ends.
//
// WithWriteBehind makes it write-behind: the cache first, the store
// later, writes to a key coalesced, saved in batches by size or interval,
// failed batches retried with backoff; Stats().PendingWrites counts what
// waits. Overlapping Sets of a key in one process reach the queue in the
// order Redis took them (one Set of a key — of a stripe of keys — at a
// time), so the cache and the store end with the same value. GetOrLoad serves a write still waiting for the store rather than
// load the store's older value. Shutdown and Close save what waits;
// writes not saved when the process dies are lost (the loss window: up to
// one interval, longer while the store fails). Delete and InvalidateTags
// empty the cache, not the store.
//
// # Consistency across instances
//
// Set, Delete and a load write Redis and publish the key in one pipeline
// or script; every instance drops it from its local layers when the
// message arrives, so after a write returns, other instances serve the new
// value once the invalidation has arrived and not the old one after that.
// A read (or write) that overlapped an invalidation or another write of
// the same key does not fill L1: what it saw may be older (writes of
// other keys do not stop it). The local layers serve and fill only while
// the invalidation subscription is known to be live — confirmed, and
// answering a ping after every second of silence (WithInvalidationPing),
// since a half-open connection reports nothing and delivers nothing —
// and are emptied whenever it is re-established, since Pub/Sub loses what
// is published while a subscriber is away. While it is not live, reads go
// to Redis. The L1 ttl (WithLocal, default 1 minute) bounds staleness
// should a message still be lost. A channel rather than server-assisted
// client-side caching (CLIENT TRACKING): tracking needs RESP3 or a
// redirect connection per client, and in broadcast mode every Cluster
// node pushes every key under the prefix while saying nothing about tags;
// the channel carries exactly this package's writes, works alike on
// standalone, Sentinel and Cluster, and needs no server configuration.
//
// Tags: InvalidateTags gives each tag a new version in one script, so that
// every entry written under the old version is stale at once for every
// reader of Redis, standalone or Cluster; local copies go when the
// announcement arrives, as for Set. Versions, not deletes, because a
// Cluster cannot delete keys of many slots in one script; they are random,
// not counters, so that a version lost with its key (expired, evicted)
// never comes back to revalidate old entries: a missing version makes the
// entries under it stale.
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
// GetOrLoad returns the error too, or calls the loader (without caching
// what it returns) with WithFallbackToLoader — also when Redis fails
// while it waits for another process's load.
//
// # Metrics
//
// OpenTelemetry instruments, on the MeterProvider of WithMeterProvider
// (default the global one), every data point carrying cache.prefix:
// cache.lookups (by cache.layer l1|l2 and cache.result hit|miss),
// cache.loads (by outcome ok|not_found|error), cache.load.duration (a
// histogram in seconds, by outcome), cache.refreshes, cache.fills.refused
// (loaded values not cached because a write came first),
// cache.invalidations (received), cache.evictions,
// cache.invalidation.live (1 while the local layers serve), and with
// write-behind cache.write_behind.pending and cache.write_behind.saves
// (by outcome). Stats returns the same counts.
//
// # Errors
//
// ErrMiss (not cached), ErrNotFound (a cached absence), ErrClosed,
// ErrInvalid (empty key or tag, bad options, a malformed entry or token),
// ErrUnsaved (write-behind writes given up at Shutdown), ErrLeftBehind
// (loads still running when Shutdown's ctx ended), ErrPanic (a loader or
// codec panicked; the error carries the value); a load past
// WithLoadTimeout returns an error wrapping context.DeadlineExceeded;
// Redis and store failures are wrapped with the operation and key.
//
// # As
//
// There is no native client to reach: the cache uses the
// redis.UniversalClient it is given.
package cache
