package cache

import "github.com/groundwork-go/groundwork/internal/redisx"

// The key layout in Redis (the package doc's # Keys). Everything a cache
// keeps lives under its prefix, in one namespace per kind told apart by
// the two bytes after the prefix: entries under "k:", tags under "t:",
// load locks under "l:". A user's key only ever follows "k:", so no key a
// caller chooses can name a tag's version or index, or a lock.
//
//	<prefix>k:<key>           an entry, or the lease or write marker in its place
//	<prefix>t:{<tag>}         a tag's version
//	<prefix>t:{<tag>}:keys    the index of the tag's entries (same slot)
//	<prefix>l:{<key>}         the distributed load lock (package lock),
//	<prefix>l:{<key>}:fence   and its fencing counter (same slot)
//
// Every script touches either one entry or one tag's two keys, which
// share the tag's {hash tag}, so scripts work on a Redis Cluster. An
// entry's own key is not hash-tagged: a {...} in the user's key decides
// its slot, as the user may want.

func (c *Cache[V]) redisKey(key string) string { return c.o.prefix + "k:" + key }

func (c *Cache[V]) tagKey(tag string) string { return c.o.prefix + "t:" + redisx.HashTag(tag) }

func (c *Cache[V]) tagIndexKey(tag string) string { return c.tagKey(tag) + ":keys" }

// lockPrefix is the prefix given to package lock, which appends {<key>}.
func (c *Cache[V]) lockPrefix() string { return c.o.prefix + "l:" }

func (c *Cache[V]) channel() string { return c.o.prefix + "__invalidate" }
