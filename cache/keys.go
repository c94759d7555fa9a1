package cache

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

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

// Prefixes must not nest: were one cache's prefix "app:" and another's
// "app:k:", a user key "t:{x}" of the first would be the second's tag x.
// A process cannot see every cache on a Redis, but it can refuse the
// caches it makes itself on one client: prefixes holds, per client, the
// prefixes of its open caches (a prefix shared is fine: caches that share
// a prefix share entries).
var prefixes = struct {
	sync.Mutex
	m map[redis.UniversalClient]map[string]int
}{m: map[redis.UniversalClient]map[string]int{}}

// claimPrefix records that a cache on client uses prefix, unless an open
// cache on client has a prefix that nests with it; release undoes it.
func claimPrefix(client redis.UniversalClient, prefix string) (release func(), err error) {
	if !reflect.TypeOf(client).Comparable() { // cannot be a map key: no check
		return func() {}, nil
	}
	prefixes.Lock()
	defer prefixes.Unlock()
	used := prefixes.m[client]
	for p := range used {
		if p != prefix && (strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p)) {
			return nil, fmt.Errorf("%w: WithPrefix(%q): nests with the prefix %q of another cache on this client; their keys would collide",
				ErrInvalid, prefix, p)
		}
	}
	if used == nil {
		used = map[string]int{}
		prefixes.m[client] = used
	}
	used[prefix]++
	var once sync.Once
	return func() {
		once.Do(func() {
			prefixes.Lock()
			defer prefixes.Unlock()
			if used[prefix]--; used[prefix] == 0 {
				delete(used, prefix)
			}
			if len(used) == 0 {
				delete(prefixes.m, client)
			}
		})
	}, nil
}
