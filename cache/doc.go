// Package cache is a two-layer cache: an in-process LRU (L1, golang-lru)
// in front of Redis (L2), with cache-aside loading, negative caching, TTL
// jitter and cross-instance L1 invalidation.
//
//	users, err := cache.New[User](rdb, cache.WithTTL(10*time.Minute))
//	u, err := users.GetOrLoad(ctx, "user:42", func(ctx context.Context) (User, error) {
//		u, err := db.User(ctx, 42)
//		if errors.Is(err, sql.ErrNoRows) {
//			return User{}, cache.ErrNotFound // remembered for the negative TTL
//		}
//		return u, err
//	})
//
// # Keys
//
// An entry lives in Redis under <prefix><key> (prefix "cache:" unless
// WithPrefix), its value prefixed by one byte: 'v' then the encoded value
// (JSON unless WithCodec; []byte values are stored as they are), or 'n'
// for a cached absence. Invalidations travel on the Pub/Sub channel
// <prefix>__invalidate.
//
// # Guarantees
//
// GetOrLoad runs the loader once per process for concurrent misses of one
// key (singleflight, with a second look at Redis before loading); other
// processes may load the same key too, unless WithDistributedLoad: then one
// process in all loads it, holding a lock (package lock, with a watchdog)
// while the others wait for the value in Redis, each bounded by its ctx. A loader's ErrNotFound is cached for
// the negative TTL (default 10s); other loader errors are not cached. TTLs
// are spread by ±10% (WithJitter) so that entries written together do not
// expire together.
//
// Consistency across instances: Set, Delete and a load write Redis and
// publish the key in one pipeline; every instance evicts it from its L1 when
// the message arrives, so after a write returns, other instances serve the
// new value once the invalidation has arrived and not the old one after
// that. A read of the old value that was in flight when an invalidation
// arrived does not fill L1. L1 is filled only while the invalidation
// subscription is live and is emptied whenever it is re-established, since
// Pub/Sub loses what is published while a subscriber is away; the L1 ttl
// (WithLocal, default 1 minute) bounds staleness should a message still be
// lost. Why a channel and not CLIENT TRACKING: see invalidate.go.
//
// When Redis cannot be reached, Get serves what L1 holds and otherwise
// returns the error; a zero value is never returned as a hit. GetOrLoad
// returns the error too, or calls the loader with WithFallbackToLoader.
//
// # Not yet
//
// Tags and InvalidateTags, refresh-ahead (XFetch), write-through and
// write-behind stores, hot-key detection and read-your-writes versions are
// not implemented yet.
//
// # Errors
//
// ErrMiss (not cached), ErrNotFound (a cached absence), ErrClosed,
// ErrInvalid (empty key, bad options); Redis failures are wrapped with the
// operation and key.
package cache
